"""The Django project: settings, the root URLs and the WSGI entry point. The app is `newsletter`."""
