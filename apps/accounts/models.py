from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A person (or a script acting through an API key). Custom from the first migration so it can grow."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_admin_role(self) -> bool:
        return self.is_superuser or self.groups.filter(name="Admin").exists()
