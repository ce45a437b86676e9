"""What other capabilities hear about pledges, without pledges depending on them."""

from django.dispatch import Signal

# Sent inside the transaction of a withdrawal or expiry, with `actor`, `pledge` (now withdrawn or expired) and
# `reason`. A receiver that raises undoes the step.
pledge_closed = Signal()
