"""What other capabilities hear about requirement lists, without needs depending on them."""

from django.dispatch import Signal

# Sent inside the approval's transaction, with `actor`, `approved` (the list) and `superseded` (the lists it
# replaces). A receiver that raises undoes the approval.
revision_approved = Signal()
