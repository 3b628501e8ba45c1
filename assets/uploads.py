"""The dynamic partitions: one per upload, keyed by an opaque upload id."""

from dagster import DynamicPartitionsDefinition

uploads_partitions = DynamicPartitionsDefinition(name="uploads")
