"""The dynamic partitions: one per upload, keyed by an opaque upload id."""

from dagster import DynamicPartitionsDefinition

uploads_partitions = DynamicPartitionsDefinition(name="uploads")

# One per mailbox scan (issue #9): an opaque id "mb-...", its manifest naming the controller and
# the mailbox (an id from the controller's recorded settings), never an address.
mailbox_scans_partitions = DynamicPartitionsDefinition(name="mailbox_scans")
