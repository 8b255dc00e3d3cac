from django.db import models


class TimestampedModel(models.Model):
    """Base for Rapport's records: when they were created and last changed."""

    # Not indexed: lists sort by id for "newest", and every index slows bulk imports.
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class VersionedModel(TimestampedModel):
    """A record edited by people and integrations at once.

    ``version`` grows by one on every change made through a service; a writer that read
    version N and finds N+1 when it saves has lost a race and must not overwrite.
    """

    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True

    @property
    def etag(self) -> str:
        return f'"{self.version}"'
