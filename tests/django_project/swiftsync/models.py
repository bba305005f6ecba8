"""What the upload command records about every object, through the ORM."""

from django.db import models


class UploadRecord(models.Model):
    """One object the ``velocity_upload`` command sent (or failed to send)."""

    container = models.CharField(max_length=256)
    name = models.CharField(max_length=1024)
    size = models.BigIntegerField(default=0)
    ok = models.BooleanField(default=False)
    #: ``threading.get_ident()`` of the thread the progress callback ran on
    thread_id = models.BigIntegerField()

    def __str__(self) -> str:
        return "%s/%s" % (self.container, self.name)
