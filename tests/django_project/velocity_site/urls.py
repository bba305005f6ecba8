"""No views: the project exists for its management commands."""

urlpatterns: list = []
