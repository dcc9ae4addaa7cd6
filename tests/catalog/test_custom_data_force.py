"""`force` on custom_data_set / custom_data_delete: a key the entity's descriptor defines is the descriptor's,
unless forced, and a forced change lasts only until the descriptor is applied again (as in Cortex)."""

from __future__ import annotations

import pytest

from apps.catalog.models import CustomData, CustomDataSource
from apps.catalog.services import custom_data_delete, custom_data_set, entity_apply_descriptor
from apps.core.errors import NotFoundError, ValidationFailed

pytestmark = pytest.mark.django_db

DESCRIPTOR = """\
openapi: 3.0.1
info:
  title: Payments
  x-cortex-tag: payments
  x-cortex-type: service
  x-cortex-custom-metadata:
    tier: 1
    cost_center:
      value: CC-42
      description: Finance code
"""


@pytest.fixture
def entity():
    entity, action, _ = entity_apply_descriptor(text=DESCRIPTOR, source="test")
    assert action == "created"
    return entity


def row(entity, key):
    return CustomData.objects.get(entity=entity, key=key)


def test_setting_a_descriptor_key_without_force_is_refused_and_changes_nothing(entity):
    with pytest.raises(ValidationFailed) as info:
        custom_data_set(entity=entity, key="tier", value=5)
    [problem] = info.value.problems
    assert problem.path == "key"
    assert "force" in problem.message
    assert (row(entity, "tier").value, row(entity, "tier").source) == (1, CustomDataSource.DESCRIPTOR)


def test_forced_set_overrides_until_the_descriptor_is_applied_again(entity):
    forced = custom_data_set(entity=entity, key="tier", value=5, description="hotfix", force=True)
    assert (forced.value, forced.source, forced.description) == (5, CustomDataSource.API, "hotfix")
    assert CustomData.objects.filter(entity=entity, key="tier").count() == 1

    _, action, _ = entity_apply_descriptor(text=DESCRIPTOR, source="test")
    assert action == "updated"
    restored = row(entity, "tier")
    assert (restored.value, restored.source, restored.description) == (1, CustomDataSource.DESCRIPTOR, "")


def test_force_on_an_api_key_or_a_new_key_just_sets_it(entity):
    custom_data_set(entity=entity, key="build", value="green", force=True)
    custom_data_set(entity=entity, key="build", value="red")
    assert (row(entity, "build").value, row(entity, "build").source) == ("red", CustomDataSource.API)


def test_deleting_a_descriptor_key_without_force_is_refused(entity):
    with pytest.raises(ValidationFailed) as info:
        custom_data_delete(entity=entity, key="cost_center")
    assert "use force" in info.value.problems[0].message
    assert row(entity, "cost_center").value == "CC-42"


def test_forced_delete_removes_it_until_the_descriptor_is_applied_again(entity):
    custom_data_delete(entity=entity, key="cost_center", force=True)
    assert not CustomData.objects.filter(entity=entity, key="cost_center").exists()
    assert row(entity, "tier").value == 1  # only that key

    _, action, _ = entity_apply_descriptor(text=DESCRIPTOR, source="test")
    assert action == "updated"
    back = row(entity, "cost_center")
    assert (back.value, back.description, back.source) == ("CC-42", "Finance code", CustomDataSource.DESCRIPTOR)


def test_deleting_an_api_key_needs_no_force_and_a_missing_key_is_not_found(entity):
    custom_data_set(entity=entity, key="build", value="green")
    custom_data_delete(entity=entity, key="build")
    assert not CustomData.objects.filter(entity=entity, key="build").exists()
    for force in (False, True):
        with pytest.raises(NotFoundError):
            custom_data_delete(entity=entity, key="build", force=force)
    assert CustomData.objects.filter(entity=entity).count() == 2


def test_api_keys_survive_re_applying_the_descriptor(entity):
    custom_data_set(entity=entity, key="build", value={"green": True})
    entity_apply_descriptor(text=DESCRIPTOR.replace("tier: 1", "tier: 2"), source="test")
    assert row(entity, "build").value == {"green": True}
    assert row(entity, "tier").value == 2
