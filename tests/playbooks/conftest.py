import pytest
from django.db.models import F

from metrics.features import Feature, FeatureType, register
from metrics.features import registry as feature_registry


@pytest.fixture
def renewal_feature():
    """A date feature over the account's renewal date (the catalog ships none yet)."""
    feature = register(
        Feature(
            "test_renewal_date",
            "Renewal date",
            FeatureType.DATE,
            "The renewal date, for tests of the date operators.",
            has_history=False,
            compute=lambda *, as_of: F("renewal_date"),
        )
    )
    yield feature
    feature_registry._REGISTRY.pop(feature.key, None)
