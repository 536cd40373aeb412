from django.db import migrations

# In the order the issues have always listed them (alphabetical); editors can reorder.
DEFAULTS = [
    ("flashinfer-ai", "flashinfer", "FlashInfer", 10),
    ("sgl-project", "sglang", "SGLang", 20),
    ("vllm-project", "vllm", "vLLM", 30),
]


def create_defaults(apps, schema_editor):
    Repository = apps.get_model("newsletter", "Repository")
    for owner, name, display_name, order in DEFAULTS:
        Repository.objects.get_or_create(
            owner=owner, name=name, defaults={"display_name": display_name, "order": order}
        )


def remove_defaults(apps, schema_editor):
    Repository = apps.get_model("newsletter", "Repository")
    for owner, name, _, _ in DEFAULTS:
        Repository.objects.filter(owner=owner, name=name, commits__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
