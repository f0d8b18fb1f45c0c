"""STUN messages (RFC 8489): parse, validate and build. Sans-IO: bytes in, bytes out.

The contract, for the server in `p2pshare.stun.server`:

- `answer(datagram, source)` returns the bytes to send back to `source` and their kind
  (`ReplyKind.SUCCESS` or `ReplyKind.ERROR`), or raises `StunDecodeError` whose
  `reason` says why the datagram is dropped silently. Only Binding requests are
  answered: a success response with XOR-MAPPED-ADDRESS, or 420 (Unknown Attribute)
  with UNKNOWN-ATTRIBUTES when the request carries comprehension-required attributes
  that are not in this module's attribute table.
- No answer is ever larger than `MAX_AMPLIFICATION` times the request that caused it:
  optional attributes (SOFTWARE, FINGERPRINT, the reason phrase) are left out when
  they do not fit, and a request whose smallest answer would not fit is dropped.
- Attributes in the table but not used by a STUN server without credentials
  (USERNAME, MESSAGE-INTEGRITY, PRIORITY, ICE-CONTROLLED, ...) are understood and
  ignored: requests that carry them get a plain success response, unsigned.

`parse_message` decodes any STUN message (requests, indications, responses) into a
`Message`; `Message.encode()` / `bytes(message)` encode one. Every decode failure is a
`StunDecodeError`; every failure to encode a `Message` built with invalid values is a
`StunEncodeError`. Nothing else escapes this module.
"""

from __future__ import annotations

import binascii
import functools
import hmac
import struct
from collections.abc import Callable, Iterable
from enum import IntEnum, StrEnum
from socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import NamedTuple

from p2pshare.errors import P2PShareError

__all__ = [
    "MAGIC_COOKIE",
    "MAX_AMPLIFICATION",
    "SOFTWARE",
    "Address",
    "Attr",
    "AttrValue",
    "Class",
    "ErrorCode",
    "Message",
    "Method",
    "Reason",
    "ReplyKind",
    "SourceAddress",
    "StunDecodeError",
    "StunEncodeError",
    "answer",
    "error_response",
    "message_integrity_valid",
    "parse_message",
    "parse_request",
    "success_response",
]

HEADER_BYTES = 20
"""Fixed STUN header: type, length, magic cookie, transaction id (RFC 8489 section 5)."""
MAGIC_COOKIE = 0x2112A442
"""RFC 8489 section 5."""
TRANSACTION_ID_BYTES = 12
"""RFC 8489 section 5."""
ATTR_HEADER_BYTES = 4
"""Type and length of each attribute (RFC 8489 section 14)."""
FINGERPRINT_XOR = 0x5354554E
"""CRC-32 of the message is XOR'ed with this ("STUN") (RFC 8489 section 14.7)."""
FINGERPRINT_ATTR_BYTES = 8
"""The whole FINGERPRINT attribute, header included (RFC 8489 section 14.7)."""
INTEGRITY_ATTR_BYTES = 24
"""The whole MESSAGE-INTEGRITY attribute: header and HMAC-SHA1 (RFC 8489 section 14.5)."""
FAMILY_IPV4 = 0x01
"""Address family in (XOR-)MAPPED-ADDRESS (RFC 8489 section 14.1)."""
FAMILY_IPV6 = 0x02
"""Address family in (XOR-)MAPPED-ADDRESS (RFC 8489 section 14.1)."""
MAX_AMPLIFICATION = 3
"""An answer is never more than this many times the size of its request."""
SOFTWARE = "p2pshare"
"""SOFTWARE value of our answers: short on purpose (8 bytes, no padding)."""
UNKNOWN_ATTRIBUTE_REASON = "Unknown Attribute"
"""Reason phrase of 420 (RFC 8489 section 14.8)."""

_HEADER = struct.Struct("!HHI12s")
_ATTR_HEADER = struct.Struct("!HH")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")
_COOKIE_BYTES = _U32.pack(MAGIC_COOKIE)


class Class(IntEnum):
    """Message class bits C1 C0, in place within the message type (RFC 8489 section 5)."""

    REQUEST = 0x000  # expects a response
    INDICATION = 0x010  # no response (keepalives); never answered
    SUCCESS = 0x100  # success response
    ERROR = 0x110  # error response, with ERROR-CODE


class Method(IntEnum):
    """Message methods (RFC 8489 section 18.2); only Binding is served."""

    BINDING = 0x001  # RFC 8489: what is my address?
    ALLOCATE = 0x003  # RFC 8656 (TURN): not served, named for logs
    REFRESH = 0x004  # RFC 8656 (TURN): not served
    SEND = 0x006  # RFC 8656 (TURN): not served
    DATA = 0x007  # RFC 8656 (TURN): not served
    CREATE_PERMISSION = 0x008  # RFC 8656 (TURN): not served
    CHANNEL_BIND = 0x009  # RFC 8656 (TURN): not served


class Attr(IntEnum):
    """Attribute types this module understands (IANA "STUN Attributes" registry).

    0x0000-0x7FFF are comprehension-required, 0x8000-0xFFFF comprehension-optional
    (RFC 8489 section 14). A comprehension-required type missing here gets a 420.
    CHANGE-REQUEST (0x0003), PADDING (0x0026) and RESPONSE-PORT (0x0027) are missing
    on purpose: they ask for RFC 5780 behaviour we do not implement, and RFC 5780
    clients detect that from the 420.
    """

    MAPPED_ADDRESS = 0x0001  # RFC 8489 14.1, legacy plain address
    USERNAME = 0x0006  # RFC 8489 14.3, credentials: ignored by us
    MESSAGE_INTEGRITY = 0x0008  # RFC 8489 14.5, HMAC-SHA1: ignored by us
    ERROR_CODE = 0x0009  # RFC 8489 14.8
    UNKNOWN_ATTRIBUTES = 0x000A  # RFC 8489 14.13, in 420 responses
    REALM = 0x0014  # RFC 8489 14.9, long-term credentials: ignored
    NONCE = 0x0015  # RFC 8489 14.10, long-term credentials: ignored
    MESSAGE_INTEGRITY_SHA256 = 0x001C  # RFC 8489 14.6: ignored
    PASSWORD_ALGORITHM = 0x001D  # RFC 8489 14.12: ignored
    USERHASH = 0x001E  # RFC 8489 14.4: ignored
    XOR_MAPPED_ADDRESS = 0x0020  # RFC 8489 14.2, the answer
    PRIORITY = 0x0024  # RFC 8445 (ICE) 7.1.1: ignored
    USE_CANDIDATE = 0x0025  # RFC 8445 (ICE) 7.1.2: ignored
    PASSWORD_ALGORITHMS = 0x8002  # RFC 8489 14.11: ignored
    ALTERNATE_DOMAIN = 0x8003  # RFC 8489 14.16: ignored
    SOFTWARE = 0x8022  # RFC 8489 14.14
    ALTERNATE_SERVER = 0x8023  # RFC 8489 14.15
    FINGERPRINT = 0x8028  # RFC 8489 14.7, checked when present, must be last
    ICE_CONTROLLED = 0x8029  # RFC 8445 (ICE) 7.1.3: ignored
    ICE_CONTROLLING = 0x802A  # RFC 8445 (ICE) 7.1.3: ignored
    RESPONSE_ORIGIN = 0x802B  # RFC 5780 7.3
    OTHER_ADDRESS = 0x802C  # RFC 5780 7.4


class Reason(StrEnum):
    """Why a datagram gets no normal answer: the `reason` label of `stun_dropped`.

    All but UNKNOWN_ATTRIBUTE mean "dropped"; that one is answered with 420.
    """

    SHORT = "short"  # under the 20-byte header
    NOT_STUN = "not_stun"  # first two bits not zero (RTP, DTLS, garbage)
    BAD_COOKIE = "bad_cookie"  # no magic cookie (also: RFC 3489 clients)
    BAD_LENGTH = "bad_length"  # length not a multiple of 4, or not the datagram's
    BAD_ATTRIBUTE = "bad_attribute"  # attribute past the end, or malformed value
    BAD_FINGERPRINT = "bad_fingerprint"  # FINGERPRINT does not match the CRC
    FINGERPRINT_NOT_LAST = "fingerprint_not_last"  # attributes follow FINGERPRINT
    METHOD = "method"  # a request for a method other than Binding
    INDICATION = "indication"  # indications never get an answer
    RESPONSE = "response"  # success or error responses are not ours to answer
    AMPLIFICATION = "amplification"  # even the smallest answer exceeds 3x the request
    RATE_LIMITED = "rate_limited"  # the source is over its request rate (server)
    SEND_FAILED = "send_failed"  # the answer could not be sent (server)
    UNKNOWN_ATTRIBUTE = "unknown_attribute"  # answered with 420, not dropped


class ReplyKind(StrEnum):
    """The kind of an answer; the `kind` label of `stun_responses`."""

    SUCCESS = "success"  # Binding success response
    ERROR = "error"  # error response (420)


class StunDecodeError(P2PShareError):
    """A datagram that gets no normal answer.

    `reason` is the metric label. `error_code` is the STUN error to answer with, or
    None to drop silently; with 420, `unknown_attributes` lists the offending types
    and `transaction_id` is the request's.
    """

    def __init__(
        self,
        reason: Reason,
        detail: str = "",
        *,
        error_code: int | None = None,
        unknown_attributes: tuple[int, ...] = (),
        transaction_id: bytes = b"",
    ) -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.error_code = error_code
        self.unknown_attributes = unknown_attributes
        self.transaction_id = transaction_id


class StunEncodeError(P2PShareError):
    """A `Message` holds a value that cannot be encoded (a caller's mistake)."""


class Address(NamedTuple):
    """A transport address as in (XOR-)MAPPED-ADDRESS."""

    host: str
    port: int


class ErrorCode(NamedTuple):
    """ERROR-CODE: a code from 300 to 699 and a reason phrase (RFC 8489 section 14.8)."""

    code: int
    reason: str


SourceAddress = tuple[str, int] | tuple[str, int, int, int]
"""A `recvfrom` address: (host, port), or (host, port, flowinfo, scope id) for IPv6."""

AttrValue = Address | ErrorCode | tuple[int, ...] | str | int | bytes | None
"""A decoded attribute value; unknown attributes keep their raw bytes."""


def _bad(detail: str) -> StunDecodeError:
    return StunDecodeError(Reason.BAD_ATTRIBUTE, detail)


def _padded(length: int) -> int:
    return (length + 3) & ~3


def pack_address(value: Address, transaction_id: bytes) -> bytes:
    host, port = value
    host = host.partition("%")[0]  # an IPv6 scope ("fe80::1%eth0") is local only
    if ":" in host:
        return struct.pack("!BBH", 0, FAMILY_IPV6, port) + inet_pton(AF_INET6, host)
    return struct.pack("!BBH", 0, FAMILY_IPV4, port) + inet_pton(AF_INET, host)


def unpack_address(data: bytes, transaction_id: bytes) -> Address:
    if len(data) == 8 and data[1] == FAMILY_IPV4:
        return Address(inet_ntop(AF_INET, data[4:]), _U16.unpack_from(data, 2)[0])
    if len(data) == 20 and data[1] == FAMILY_IPV6:
        return Address(inet_ntop(AF_INET6, data[4:]), _U16.unpack_from(data, 2)[0])
    raise _bad(f"address of {len(data)} bytes, family {data[1] if len(data) > 1 else None}")


def _xor_pad(transaction_id: bytes, length: int) -> int:
    """The mask of port and address: the cookie's top half, then cookie and transaction id."""
    return int.from_bytes((_COOKIE_BYTES[:2] + _COOKIE_BYTES + transaction_id)[:length], "big")


def pack_xor_address(value: Address, transaction_id: bytes) -> bytes:
    plain = pack_address(value, transaction_id)
    xored = int.from_bytes(plain[2:], "big") ^ _xor_pad(transaction_id, len(plain) - 2)
    return plain[:2] + xored.to_bytes(len(plain) - 2, "big")


def unpack_xor_address(data: bytes, transaction_id: bytes) -> Address:
    if len(data) in (8, 20):
        plain = int.from_bytes(data[2:], "big") ^ _xor_pad(transaction_id, len(data) - 2)
        data = data[:2] + plain.to_bytes(len(data) - 2, "big")
    return unpack_address(data, transaction_id)


def pack_string(value: str, transaction_id: bytes) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def unpack_string(data: bytes, transaction_id: bytes) -> str:
    # Lenient: invalid UTF-8 survives as surrogates and encodes back to the same bytes.
    return data.decode("utf-8", "surrogateescape")


def pack_bytes(value: bytes, transaction_id: bytes) -> bytes:
    return bytes(value)


def unpack_bytes(data: bytes, transaction_id: bytes) -> bytes:
    return data


def _unpack_exact(length: int) -> Callable[[bytes, bytes], bytes]:
    def unpack(data: bytes, transaction_id: bytes) -> bytes:
        if len(data) != length:
            raise _bad(f"{length} bytes expected, got {len(data)}")
        return data

    return unpack


def unpack_integrity_sha256(data: bytes, transaction_id: bytes) -> bytes:
    if not (16 <= len(data) <= 32 and len(data) % 4 == 0):
        raise _bad(f"MESSAGE-INTEGRITY-SHA256 of {len(data)} bytes")
    return data


def pack_u32(value: int, transaction_id: bytes) -> bytes:
    return _U32.pack(value)


def unpack_u32(data: bytes, transaction_id: bytes) -> int:
    if len(data) != 4:
        raise _bad(f"4 bytes expected, got {len(data)}")
    value: int = _U32.unpack(data)[0]
    return value


def pack_u64(value: int, transaction_id: bytes) -> bytes:
    return _U64.pack(value)


def unpack_u64(data: bytes, transaction_id: bytes) -> int:
    if len(data) != 8:
        raise _bad(f"8 bytes expected, got {len(data)}")
    value: int = _U64.unpack(data)[0]
    return value


def pack_none(value: None, transaction_id: bytes) -> bytes:
    return b""


def unpack_none(data: bytes, transaction_id: bytes) -> None:
    if data:
        raise _bad(f"empty value expected, got {len(data)} bytes")
    return None


def pack_error_code(value: ErrorCode, transaction_id: bytes) -> bytes:
    code, reason = value
    if not 300 <= code <= 699:
        raise ValueError(f"error code {code} outside 300..699")
    return struct.pack("!HBB", 0, code // 100, code % 100) + reason.encode(
        "utf-8", "surrogateescape"
    )


def unpack_error_code(data: bytes, transaction_id: bytes) -> ErrorCode:
    if len(data) < 4:
        raise _bad(f"ERROR-CODE of {len(data)} bytes")
    error_class, number = data[2] & 0x07, data[3]
    if not (3 <= error_class <= 6 and number < 100):
        raise _bad(f"ERROR-CODE class {error_class} number {number}")
    return ErrorCode(error_class * 100 + number, data[4:].decode("utf-8", "surrogateescape"))


def pack_attribute_list(value: tuple[int, ...], transaction_id: bytes) -> bytes:
    return struct.pack(f"!{len(value)}H", *value)


def unpack_attribute_list(data: bytes, transaction_id: bytes) -> tuple[int, ...]:
    if len(data) % 2:
        raise _bad(f"UNKNOWN-ATTRIBUTES of {len(data)} bytes")
    return struct.unpack(f"!{len(data) // 2}H", data)


Unpacker = Callable[[bytes, bytes], AttrValue]

# The attribute table: type, encoder, decoder. Decoders check the value's shape.
ATTRIBUTES: tuple[tuple[Attr, Callable[..., bytes], Unpacker], ...] = (
    (Attr.MAPPED_ADDRESS, pack_address, unpack_address),
    (Attr.USERNAME, pack_string, unpack_string),
    (Attr.MESSAGE_INTEGRITY, pack_bytes, _unpack_exact(20)),
    (Attr.ERROR_CODE, pack_error_code, unpack_error_code),
    (Attr.UNKNOWN_ATTRIBUTES, pack_attribute_list, unpack_attribute_list),
    (Attr.REALM, pack_string, unpack_string),
    (Attr.NONCE, pack_string, unpack_string),
    (Attr.MESSAGE_INTEGRITY_SHA256, pack_bytes, unpack_integrity_sha256),
    (Attr.PASSWORD_ALGORITHM, pack_bytes, unpack_bytes),
    (Attr.USERHASH, pack_bytes, _unpack_exact(32)),
    (Attr.XOR_MAPPED_ADDRESS, pack_xor_address, unpack_xor_address),
    (Attr.PRIORITY, pack_u32, unpack_u32),
    (Attr.USE_CANDIDATE, pack_none, unpack_none),
    (Attr.PASSWORD_ALGORITHMS, pack_bytes, unpack_bytes),
    (Attr.ALTERNATE_DOMAIN, pack_string, unpack_string),
    (Attr.SOFTWARE, pack_string, unpack_string),
    (Attr.ALTERNATE_SERVER, pack_address, unpack_address),
    (Attr.FINGERPRINT, pack_u32, unpack_u32),
    (Attr.ICE_CONTROLLED, pack_u64, unpack_u64),
    (Attr.ICE_CONTROLLING, pack_u64, unpack_u64),
    (Attr.RESPONSE_ORIGIN, pack_address, unpack_address),
    (Attr.OTHER_ADDRESS, pack_address, unpack_address),
)
_PACKERS: dict[int, Callable[..., bytes]] = {a: pack for a, pack, _ in ATTRIBUTES}
_UNPACKERS: dict[int, Unpacker] = {a: unpack for a, _, unpack in ATTRIBUTES}


def pack_attribute(attr_type: int, value: bytes, padding: bytes = b"\x00") -> bytes:
    """Type, length, value and padding to a 32-bit boundary (RFC 8489 section 14)."""
    return (
        _ATTR_HEADER.pack(attr_type, len(value))
        + value
        + padding * (_padded(len(value)) - len(value))
    )


def _split_type(message_type: int) -> tuple[int, int]:
    """(method, class bits) from the 14-bit type where C1 and C0 sit between method bits."""
    method = (
        (message_type & 0x000F) | ((message_type & 0x00E0) >> 1) | ((message_type & 0x3E00) >> 2)
    )
    return method, message_type & 0x0110


_CLASSES = {int(c): c for c in Class}


def _join_type(method: int, message_class: int) -> int:
    return (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | message_class


def _fingerprint(data: bytes) -> int:
    return binascii.crc32(data) ^ FINGERPRINT_XOR


def _set_length(data: bytes, body_bytes: int) -> bytes:
    return data[:2] + _U16.pack(body_bytes) + data[4:]


class Message:
    """One STUN message: method, class, transaction id and attributes in wire order.

    `attributes` holds `(type, value)` pairs; values of types in `Attr` are decoded
    (see `AttrValue`), others are raw bytes. Duplicates are kept, as on the wire.
    """

    __slots__ = ("attributes", "message_class", "method", "transaction_id")

    def __init__(
        self,
        method: int,
        message_class: Class,
        transaction_id: bytes,
        attributes: Iterable[tuple[int, AttrValue]] = (),
    ) -> None:
        self.method = method
        self.message_class = message_class
        self.transaction_id = transaction_id
        self.attributes: tuple[tuple[int, AttrValue], ...] = tuple(attributes)

    def get(self, attr_type: int) -> AttrValue:
        """The value of the first attribute of `attr_type`, or None."""
        for key, value in self.attributes:
            if key == attr_type:
                return value
        return None

    def unknown_comprehension_required(self) -> tuple[int, ...]:
        """Comprehension-required types not in `Attr`, each once, in order of appearance.

        Attributes after MESSAGE-INTEGRITY (other than MESSAGE-INTEGRITY-SHA256 and
        FINGERPRINT), and after MESSAGE-INTEGRITY-SHA256 (other than FINGERPRINT), are
        ignored, as RFC 8489 section 9 requires.
        """
        unknown: list[int] = []
        integrity: int | None = None
        for key, _ in self.attributes:
            if integrity == Attr.MESSAGE_INTEGRITY and key not in (
                Attr.MESSAGE_INTEGRITY_SHA256,
                Attr.FINGERPRINT,
            ):
                continue
            if integrity == Attr.MESSAGE_INTEGRITY_SHA256 and key != Attr.FINGERPRINT:
                continue
            if key in (Attr.MESSAGE_INTEGRITY, Attr.MESSAGE_INTEGRITY_SHA256):
                integrity = key
            if key < 0x8000 and key not in _UNPACKERS and key not in unknown:
                unknown.append(key)
        return tuple(unknown)

    def encode(
        self,
        *,
        integrity_key: bytes | None = None,
        fingerprint: bool = False,
        padding: bytes = b"\x00",
    ) -> bytes:
        """Encode the attributes as they are, then append computed MESSAGE-INTEGRITY
        (HMAC-SHA1 with `integrity_key`) and FINGERPRINT if asked.

        `padding` is the byte that fills attributes to 32-bit boundaries (any value is
        allowed; RFC 5769's samples use spaces). Raises `StunEncodeError`.
        """
        tid = self.transaction_id
        if len(tid) != TRANSACTION_ID_BYTES:
            raise StunEncodeError(f"transaction id of {len(tid)} bytes")
        if not 0 <= self.method <= 0xFFF:
            raise StunEncodeError(f"method 0x{self.method:x} is over 12 bits")
        parts: list[bytes] = []
        for key, value in self.attributes:
            try:
                encoded = _PACKERS.get(key, pack_bytes)(value, tid)
                parts.append(pack_attribute(key, encoded, padding))
            except (struct.error, OSError, ValueError, TypeError, AttributeError) as exc:
                raise StunEncodeError(f"attribute {key!r}={value!r}: {exc}") from exc
        body = b"".join(parts)
        if len(body) > 0xFFFF - INTEGRITY_ATTR_BYTES - FINGERPRINT_ATTR_BYTES:
            raise StunEncodeError(f"message body of {len(body)} bytes")
        data = (
            _HEADER.pack(_join_type(self.method, self.message_class), len(body), MAGIC_COOKIE, tid)
            + body
        )
        if integrity_key is not None:
            mac = _message_integrity(data, integrity_key)
            data = _set_length(data, len(data) - HEADER_BYTES + INTEGRITY_ATTR_BYTES)
            data += _ATTR_HEADER.pack(Attr.MESSAGE_INTEGRITY, len(mac)) + mac
        if fingerprint:
            data = _set_length(data, len(data) - HEADER_BYTES + FINGERPRINT_ATTR_BYTES)
            data += _ATTR_HEADER.pack(Attr.FINGERPRINT, 4) + _U32.pack(_fingerprint(data))
        return data

    def __bytes__(self) -> bytes:
        return self.encode()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (
            self.method == other.method
            and self.message_class == other.message_class
            and self.transaction_id == other.transaction_id
            and self.attributes == other.attributes
        )

    def __repr__(self) -> str:
        try:
            method = Method(self.method).name
        except ValueError:
            method = f"0x{self.method:03x}"
        attrs = []
        for key, value in self.attributes:
            try:
                name = Attr(key).name
            except ValueError:
                name = f"0x{key:04x}"
            attrs.append(f"{name}={value!r}")
        return (
            f"Message({method} {self.message_class.name} tid={self.transaction_id.hex()}"
            f" [{', '.join(attrs)}])"
        )


def _message_integrity(data: bytes, key: bytes) -> bytes:
    """HMAC-SHA1 over `data` (the message before MESSAGE-INTEGRITY), its length field
    counting MESSAGE-INTEGRITY as the last attribute (RFC 8489 section 14.5)."""
    check = _set_length(data, len(data) - HEADER_BYTES + INTEGRITY_ATTR_BYTES)
    return hmac.new(key, check, "sha1").digest()


def _check_header(data: bytes) -> int:
    """Validate the header against the datagram; return the message type."""
    if len(data) < HEADER_BYTES:
        raise StunDecodeError(Reason.SHORT, f"{len(data)} bytes")
    message_type, length, cookie = struct.unpack_from("!HHI", data)
    if message_type & 0xC000:
        raise StunDecodeError(Reason.NOT_STUN)
    if cookie != MAGIC_COOKIE:
        raise StunDecodeError(Reason.BAD_COOKIE)
    if length & 3 or length != len(data) - HEADER_BYTES:
        raise StunDecodeError(Reason.BAD_LENGTH, f"{length} in {len(data)} bytes")
    result: int = message_type
    return result


def _walk(data: bytes) -> list[tuple[int, int, int]]:
    """Attribute (type, value offset, value length) triples, framing and FINGERPRINT checked."""
    found: list[tuple[int, int, int]] = []
    end = len(data)
    offset = HEADER_BYTES
    unpack_header = _ATTR_HEADER.unpack_from
    while offset < end:  # offset and end are multiples of 4: an attribute header fits
        key, length = unpack_header(data, offset)
        start = offset + ATTR_HEADER_BYTES
        offset = start + _padded(length)
        if offset > end:
            raise StunDecodeError(Reason.BAD_ATTRIBUTE, f"0x{key:04x} runs past the end")
        if key == Attr.FINGERPRINT:
            if offset != end:
                raise StunDecodeError(Reason.FINGERPRINT_NOT_LAST)
            if length != 4 or _U32.unpack_from(data, start)[0] != _fingerprint(data[: start - 4]):
                raise StunDecodeError(Reason.BAD_FINGERPRINT)
        found.append((key, start, length))
    return found


def parse_message(data: bytes) -> Message:
    """Decode and validate one STUN message of any class and method.

    Raises `StunDecodeError` (never anything else) when the header, the framing of the
    attributes, a known attribute's value or FINGERPRINT is wrong.
    """
    data = bytes(data)
    message_type = _check_header(data)
    method, class_bits = _split_type(message_type)
    tid = data[8:HEADER_BYTES]
    attributes: list[tuple[int, AttrValue]] = []
    for key, start, length in _walk(data):
        value = data[start : start + length]
        unpack = _UNPACKERS.get(key)
        attributes.append((key, value if unpack is None else unpack(value, tid)))
    return Message(method, _CLASSES[class_bits], tid, attributes)


def message_integrity_valid(data: bytes, key: bytes) -> bool:
    """Whether `data` is a valid message whose first MESSAGE-INTEGRITY matches `key`."""
    try:
        _check_header(data)
        walked = _walk(data)
    except StunDecodeError:
        return False
    for attr_type, start, length in walked:
        if attr_type == Attr.MESSAGE_INTEGRITY and length == 20:
            expected = _message_integrity(data[: start - ATTR_HEADER_BYTES], key)
            return hmac.compare_digest(expected, data[start : start + length])
    return False


# The response path works on plain ints and bytes: enum members cost a lookup each.
_TYPE_BINDING_SUCCESS = int(_join_type(Method.BINDING, Class.SUCCESS))
_TYPE_BINDING_ERROR = int(_join_type(Method.BINDING, Class.ERROR))
_XMA_TYPE = int(Attr.XOR_MAPPED_ADDRESS)
_XMA_V4 = struct.Struct("!HHBBHI")  # XOR-MAPPED-ADDRESS for IPv4, header included
_XMA_V6 = struct.Struct("!HHBBH")  # XOR-MAPPED-ADDRESS for IPv6 up to the address
_PORT_MASK = MAGIC_COOKIE >> 16
_FINGERPRINT_HEADER = _ATTR_HEADER.pack(Attr.FINGERPRINT, 4)
_SOFTWARE_ATTR = pack_attribute(Attr.SOFTWARE, SOFTWARE.encode())
_BARE_BINDING_REQUEST = _HEADER.pack(
    _join_type(Method.BINDING, Class.REQUEST), 0, MAGIC_COOKIE, b""
)[:8]
"""The first 8 bytes of a Binding request without attributes."""


def _finish(message_type: int, tid: bytes, body: bytes, fingerprint: bool) -> bytes:
    if not fingerprint:
        return _HEADER.pack(message_type, len(body), MAGIC_COOKIE, tid) + body
    data = _HEADER.pack(message_type, len(body) + FINGERPRINT_ATTR_BYTES, MAGIC_COOKIE, tid) + body
    return data + _FINGERPRINT_HEADER + _U32.pack(binascii.crc32(data) ^ FINGERPRINT_XOR)


@functools.lru_cache(maxsize=4096)
def _xor_mapped_address_v4(host: str, port: int) -> bytes:
    """XOR-MAPPED-ADDRESS for an IPv4 source; it does not depend on the transaction (unlike
    IPv6's), so a client's retransmits and keep-alives reuse it. Raises OSError if `host`
    is not IPv4."""
    address = int.from_bytes(inet_pton(AF_INET, host), "big")
    return _XMA_V4.pack(_XMA_TYPE, 8, 0, FAMILY_IPV4, port ^ _PORT_MASK, address ^ MAGIC_COOKIE)


def success_response(tid: bytes, source: SourceAddress, limit_bytes: int) -> bytes:
    """A Binding success response telling `source` its address, at most `limit_bytes` long.

    Layout, largest first: XOR-MAPPED-ADDRESS, SOFTWARE, FINGERPRINT (52 bytes for IPv4,
    64 for IPv6); without SOFTWARE (40 / 52); XOR-MAPPED-ADDRESS only (32 / 44).
    Raises `StunDecodeError(AMPLIFICATION)` if even the last does not fit.
    """
    host, port = source[0], source[1]
    if ":" in host:
        address = int.from_bytes(inet_pton(AF_INET6, host.partition("%")[0]), "big")
        mask = int.from_bytes(_COOKIE_BYTES + tid, "big")
        xma = _XMA_V6.pack(_XMA_TYPE, 20, 0, FAMILY_IPV6, port ^ _PORT_MASK) + (
            address ^ mask
        ).to_bytes(16, "big")
    else:
        xma = _xor_mapped_address_v4(host, port)
    size = HEADER_BYTES + len(xma)
    if size + len(_SOFTWARE_ATTR) + FINGERPRINT_ATTR_BYTES <= limit_bytes:
        return _finish(_TYPE_BINDING_SUCCESS, tid, xma + _SOFTWARE_ATTR, True)
    if size + FINGERPRINT_ATTR_BYTES <= limit_bytes:
        return _finish(_TYPE_BINDING_SUCCESS, tid, xma, True)
    if size <= limit_bytes:
        return _finish(_TYPE_BINDING_SUCCESS, tid, xma, False)
    raise StunDecodeError(Reason.AMPLIFICATION, f"{size} > {limit_bytes} bytes")


def _error_code_attr(code: int, reason: str) -> bytes:
    return Message(
        0, Class.ERROR, bytes(12), [(Attr.ERROR_CODE, ErrorCode(code, reason))]
    ).encode()[HEADER_BYTES:]


def error_response(
    tid: bytes, code: int, unknown_attributes: tuple[int, ...], limit_bytes: int
) -> bytes:
    """A Binding error response with ERROR-CODE `code` (and UNKNOWN-ATTRIBUTES for 420),
    at most `limit_bytes` long.

    Layout, largest first: ERROR-CODE with reason phrase, UNKNOWN-ATTRIBUTES, SOFTWARE,
    FINGERPRINT; without SOFTWARE; with an empty reason phrase; without FINGERPRINT.
    Raises `StunDecodeError(AMPLIFICATION)` if even the last does not fit.
    """
    reason = UNKNOWN_ATTRIBUTE_REASON if code == 420 else ""
    unknown = b""
    if unknown_attributes:
        listed = pack_attribute_list(unknown_attributes, tid)
        unknown = pack_attribute(Attr.UNKNOWN_ATTRIBUTES, listed)
    full = _error_code_attr(code, reason) + unknown
    short = _error_code_attr(code, "") + unknown
    for body, fingerprint in (
        (full + _SOFTWARE_ATTR, True),
        (full, True),
        (short, True),
        (short, False),
    ):
        size = HEADER_BYTES + len(body) + (FINGERPRINT_ATTR_BYTES if fingerprint else 0)
        if size <= limit_bytes:
            return _finish(_TYPE_BINDING_ERROR, tid, body, fingerprint)
    raise StunDecodeError(Reason.AMPLIFICATION, f"{code} response over {limit_bytes} bytes")


def parse_request(data: bytes) -> Message:
    """Decode a Binding request that this server answers with success.

    Raises `StunDecodeError`: with `error_code` None the datagram is to be dropped
    (malformed, not a request, not Binding); with `error_code` 420 it is to be answered
    with `error_response` (unknown comprehension-required attributes).
    """
    message = parse_message(data)
    if message.message_class != Class.REQUEST:
        if message.message_class == Class.INDICATION:
            raise StunDecodeError(Reason.INDICATION)
        raise StunDecodeError(Reason.RESPONSE)
    if message.method != Method.BINDING:
        raise StunDecodeError(Reason.METHOD, f"method 0x{message.method:03x}")
    unknown = message.unknown_comprehension_required()
    if unknown:
        raise StunDecodeError(
            Reason.UNKNOWN_ATTRIBUTE,
            ", ".join(f"0x{key:04x}" for key in unknown),
            error_code=420,
            unknown_attributes=unknown,
            transaction_id=message.transaction_id,
        )
    return message


_SUCCESS = ReplyKind.SUCCESS


def answer(data: bytes, source: SourceAddress) -> tuple[ReplyKind, bytes]:
    """The answer to one datagram from `source` (a `recvfrom` address), and its kind.

    Raises `StunDecodeError` when the datagram is dropped; its `reason` says why.
    """
    limit = len(data) * MAX_AMPLIFICATION
    if limit == HEADER_BYTES * MAX_AMPLIFICATION and data[:8] == _BARE_BINDING_REQUEST:
        # The common case, a Binding request without attributes: nothing else to check.
        return _SUCCESS, success_response(data[8:], source, limit)
    try:
        request = parse_request(data)
    except StunDecodeError as exc:
        if exc.error_code is None:
            raise
        reply = error_response(exc.transaction_id, exc.error_code, exc.unknown_attributes, limit)
        return ReplyKind.ERROR, reply
    return ReplyKind.SUCCESS, success_response(request.transaction_id, source, limit)
