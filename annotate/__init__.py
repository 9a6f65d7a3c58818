"""annotate: blinded rating of parent–infant interaction films for intervention trials."""

__version__ = "0.1.0"
