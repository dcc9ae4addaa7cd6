import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person (or a script acting through an API key). Custom from the first migration so it can grow.

    `uuid` is the user's stable owner UUID: Datadog's API names campaign owners by UUID (`owner_id`), and the
    profile page shows it so people can hand it to scripts."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name="owner UUID")

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_admin_role(self) -> bool:
        return self.is_superuser or self.groups.filter(name="Admin").exists()


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A key a script uses to act as its user, with the user's permissions. Only a hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    # The first characters of the key, kept in clear so people can tell keys apart.
    prefix = models.CharField(max_length=12, db_index=True)
    last4 = models.CharField(max_length=4)
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the key.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…{self.last4})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
