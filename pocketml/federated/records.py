"""Conversions between named numpy arrays and Flower's ArrayRecord, and wire-size accounting."""

from __future__ import annotations

import numpy as np
from flwr.app import Array, ArrayRecord, Message
from flwr.supercore.inflatable.inflatable_object import get_all_nested_objects
from flwr.supercore.inflatable.inflatable_utils import inflate_object_from_contents


def to_record(arrays: dict[str, np.ndarray]) -> ArrayRecord:
    return ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in arrays.items()})


def from_record(record: ArrayRecord) -> dict[str, np.ndarray]:
    return {k: record[k].numpy() for k in record.keys()}


def wire_bytes(message: Message) -> int:
    """Bytes of ``message`` as Flower 1.42 serializes it for transport.

    Flower sends a message as a tree of content-addressed objects (the message with its metadata,
    each record, each array, each array chunk), every one deflated to header + protobuf body;
    this is the sum of those objects' lengths, i.e. the payload a SuperNode pushes or pulls.
    """
    return sum(len(obj.deflate()) for obj in get_all_nested_objects(message).values())


def wire_copy(message: Message) -> Message:
    """``message`` as a receiver gets it: deflated to Flower's wire objects and inflated again.

    The copy shares nothing with the original (an in-process fleet must not let one client's
    ClientApp or mod mutate what the next client receives); the metadata is carried over as is.
    """
    objects = get_all_nested_objects(message)
    contents = {object_id: obj.deflate() for object_id, obj in objects.items()}
    copy = inflate_object_from_contents(message.object_id, contents)
    copy.metadata.__dict__.update(message.metadata.__dict__)
    return copy
