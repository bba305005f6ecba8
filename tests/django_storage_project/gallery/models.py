"""A model with a FileField: its files go to the default storage (SwiftStorage)."""

from django.db import models


class Photo(models.Model):
    title = models.CharField(max_length=200)
    image = models.FileField(upload_to="photos/")
