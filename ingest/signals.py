"""The one seam from ingest to what acts on its groups.

``groups_digested`` is sent inside the digest transaction, once per batch, with ``activities``: a list of
``ingest.digest.GroupActivity``, one per group the batch counted events in. A receiver that writes does so
in the same transaction, so its work commits with the batch or not at all. Ingest never imports a receiver.
"""

from django.dispatch import Signal

groups_digested = Signal()
