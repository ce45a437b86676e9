"""What other capabilities hear about consignments, without logistics depending on them."""

from django.dispatch import Signal

# Sent inside the transaction of a handover, with `actor` (the recipient) and `consignment` (now handed over, its
# receipt recorded). A receiver that raises undoes the handover: end-use monitoring refuses a serial registered twice.
consignment_handed_over = Signal()
