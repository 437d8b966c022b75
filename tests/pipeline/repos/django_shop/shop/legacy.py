# Labels inherited from the old shop system.
LABELS = {"discount": "Remise", "total": "Total"}
