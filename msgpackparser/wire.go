package msgpackparser

import (
	"encoding/binary"
	"errors"
	"math"
)

// MessagePack format bytes (https://github.com/msgpack/msgpack/blob/master/spec.md).
const (
	mpNil      = 0xc0
	mpFalse    = 0xc2
	mpTrue     = 0xc3
	mpBin8     = 0xc4
	mpBin16    = 0xc5
	mpBin32    = 0xc6
	mpExt8     = 0xc7
	mpExt16    = 0xc8
	mpExt32    = 0xc9
	mpFloat32  = 0xca
	mpFloat64  = 0xcb
	mpUint8    = 0xcc
	mpUint16   = 0xcd
	mpUint32   = 0xce
	mpUint64   = 0xcf
	mpInt8     = 0xd0
	mpInt16    = 0xd1
	mpInt32    = 0xd2
	mpInt64    = 0xd3
	mpFixExt1  = 0xd4
	mpFixExt2  = 0xd5
	mpFixExt4  = 0xd6
	mpFixExt8  = 0xd7
	mpFixExt16 = 0xd8
	mpStr8     = 0xd9
	mpStr16    = 0xda
	mpStr32    = 0xdb
	mpArray16  = 0xdc
	mpArray32  = 0xdd
	mpMap16    = 0xde
	mpMap32    = 0xdf
)

// kind classifies a decoded MessagePack item.
type kind uint8

const (
	kNil kind = iota
	kBool
	kInt   // negative integer, item.int()
	kUint  // non-negative integer, item.v
	kFloat // float32 or float64, item.float()
	kStr
	kBin   // bin, or ext type 0 of 8/16/32 (a Node ArrayBuffer or typed array)
	kArray // item.n elements follow
	kMap   // item.n key/value pairs follow
	kUndefined
	kDate // notepack's fixext 8 type 0: milliseconds since the epoch, item.int()
)

// item is the header of one MessagePack value. For kStr and kBin the bytes
// are data[start:start+n].
type item struct {
	kind  kind
	ext   bool   // kBin from an ext type 0 rather than bin
	v     uint64 // the value of a scalar: see int, float; a bool is 0 or 1
	start int
	n     int
}

// int returns the value of a kInt or kDate.
func (it item) int() int64 { return int64(it.v) }

// float returns the value of a kFloat.
func (it item) float() float64 { return math.Float64frombits(it.v) }

var (
	errTruncated = errors.New("truncated MessagePack value")
	errFormat    = errors.New("unsupported MessagePack format byte 0xc1")
	errExt       = errors.New("unsupported MessagePack extension type")
	errTooLong   = errors.New("MessagePack length exceeds the message")
)

// readItem reads the header of the value at data[i] and returns it with the
// position of what follows: the next value for scalars, strings and
// binaries, the first child for arrays and maps. Lengths are checked against
// the bytes left, so a hostile length prefix never leads to an allocation
// larger than the message.
func readItem(data []byte, i int) (item, int, error) {
	if i >= len(data) {
		return item{}, 0, errTruncated
	}
	c := data[i]
	i++
	switch {
	case c <= 0x7f:
		return item{kind: kUint, v: uint64(c)}, i, nil
	case c <= 0x8f:
		return container(kMap, uint64(c&0x0f), data, i)
	case c <= 0x9f:
		return container(kArray, uint64(c&0x0f), data, i)
	case c <= 0xbf:
		return bytesItem(kStr, uint64(c&0x1f), data, i)
	case c >= 0xe0:
		return item{kind: kInt, v: uint64(int64(int8(c)))}, i, nil
	}
	switch c {
	case mpNil:
		return item{kind: kNil}, i, nil
	case mpFalse, mpTrue:
		return item{kind: kBool, v: uint64(c - mpFalse)}, i, nil
	case mpBin8, mpStr8:
		n, i, err := length(data, i, 1)
		if err != nil {
			return item{}, 0, err
		}
		return bytesItem(kindOf(c), n, data, i)
	case mpBin16, mpStr16:
		n, i, err := length(data, i, 2)
		if err != nil {
			return item{}, 0, err
		}
		return bytesItem(kindOf(c), n, data, i)
	case mpBin32, mpStr32:
		n, i, err := length(data, i, 4)
		if err != nil {
			return item{}, 0, err
		}
		return bytesItem(kindOf(c), n, data, i)
	case mpExt8, mpExt16, mpExt32:
		size := 1 << (c - mpExt8) // 1, 2 or 4 length bytes
		n, i, err := length(data, i, size)
		if err != nil {
			return item{}, 0, err
		}
		if i >= len(data) {
			return item{}, 0, errTruncated
		}
		if data[i] != 0 {
			return item{}, 0, errExt
		}
		it, next, err := bytesItem(kBin, n, data, i+1)
		it.ext = true
		return it, next, err
	case mpFloat32:
		if len(data)-i < 4 {
			return item{}, 0, errTruncated
		}
		f := math.Float32frombits(binary.BigEndian.Uint32(data[i:]))
		return item{kind: kFloat, v: math.Float64bits(float64(f))}, i + 4, nil
	case mpFloat64:
		if len(data)-i < 8 {
			return item{}, 0, errTruncated
		}
		return item{kind: kFloat, v: binary.BigEndian.Uint64(data[i:])}, i + 8, nil
	case mpUint8, mpUint16, mpUint32, mpUint64:
		size := 1 << (c - mpUint8)
		if len(data)-i < size {
			return item{}, 0, errTruncated
		}
		return item{kind: kUint, v: bigEndian(data[i : i+size])}, i + size, nil
	case mpInt8, mpInt16, mpInt32, mpInt64:
		size := 1 << (c - mpInt8)
		if len(data)-i < size {
			return item{}, 0, errTruncated
		}
		// Sign-extend the big-endian value.
		shift := 64 - 8*uint(size)
		v := int64(bigEndian(data[i:i+size])<<shift) >> shift
		if v >= 0 {
			return item{kind: kUint, v: uint64(v)}, i + size, nil
		}
		return item{kind: kInt, v: uint64(v)}, i + size, nil
	case mpFixExt1:
		// notepack writes undefined as fixext 1 of type 0 (the data byte is 0).
		if len(data)-i < 2 {
			return item{}, 0, errTruncated
		}
		if data[i] != 0 {
			return item{}, 0, errExt
		}
		return item{kind: kUndefined}, i + 2, nil
	case mpFixExt8:
		// notepack writes a Date as fixext 8 of type 0: int64 milliseconds.
		if len(data)-i < 9 {
			return item{}, 0, errTruncated
		}
		if data[i] != 0 {
			return item{}, 0, errExt
		}
		return item{kind: kDate, v: binary.BigEndian.Uint64(data[i+1:])}, i + 9, nil
	case mpFixExt2, mpFixExt4, mpFixExt16:
		return item{}, 0, errExt
	case mpArray16, mpMap16:
		n, i, err := length(data, i, 2)
		if err != nil {
			return item{}, 0, err
		}
		return container(kindOf(c), n, data, i)
	case mpArray32, mpMap32:
		n, i, err := length(data, i, 4)
		if err != nil {
			return item{}, 0, err
		}
		return container(kindOf(c), n, data, i)
	}
	return item{}, 0, errFormat // 0xc1, never used
}

func kindOf(c byte) kind {
	switch c {
	case mpBin8, mpBin16, mpBin32:
		return kBin
	case mpStr8, mpStr16, mpStr32:
		return kStr
	case mpArray16, mpArray32:
		return kArray
	}
	return kMap
}

func bigEndian(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// length reads a size-byte big-endian length at data[i].
func length(data []byte, i, size int) (uint64, int, error) {
	if len(data)-i < size {
		return 0, 0, errTruncated
	}
	return bigEndian(data[i : i+size]), i + size, nil
}

// bytesItem checks that n bytes are left in the message.
func bytesItem(k kind, n uint64, data []byte, i int) (item, int, error) {
	if n > uint64(len(data)-i) {
		return item{}, 0, errTooLong
	}
	return item{kind: k, start: i, n: int(n)}, i + int(n), nil
}

// container checks that n elements (2n items for a map) can fit in the rest
// of the message, at least one byte each: the length prefix of a hostile
// message cannot claim more than the message holds.
func container(k kind, n uint64, data []byte, i int) (item, int, error) {
	items := n
	if k == kMap {
		items *= 2
	}
	if items > uint64(len(data)-i) {
		return item{}, 0, errTooLong
	}
	return item{kind: k, n: int(n)}, i, nil
}

// Appending MessagePack values. Numbers and lengths use the smallest format,
// as notepack.io does.

func appendNil(b []byte) []byte { return append(b, mpNil) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, mpTrue)
	}
	return append(b, mpFalse)
}

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, mpUint8, byte(v))
	case v <= math.MaxUint16:
		return append(b, mpUint16, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return append(b, mpUint32, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	b = append(b, mpUint64)
	return binary.BigEndian.AppendUint64(b, v)
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, mpInt8, byte(v))
	case v >= math.MinInt16:
		return append(b, mpInt16, byte(v>>8), byte(v))
	case v >= math.MinInt32:
		return append(b, mpInt32, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	b = append(b, mpInt64)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

func appendFloat(b []byte, f float64) []byte {
	b = append(b, mpFloat64)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(f))
}

// errLength is returned for strings, binaries and containers too large for
// MessagePack (2³²-1 bytes or elements).
var errLength = errors.New("value too large for MessagePack")

func fitsLength(n int) bool { return uint64(n) <= math.MaxUint32 }

func appendStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, mpStr8, byte(n))
	case n <= math.MaxUint16:
		return append(b, mpStr16, byte(n>>8), byte(n))
	}
	return append(b, mpStr32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendBinHeader(b []byte, n int) []byte {
	switch {
	case n <= math.MaxUint8:
		return append(b, mpBin8, byte(n))
	case n <= math.MaxUint16:
		return append(b, mpBin16, byte(n>>8), byte(n))
	}
	return append(b, mpBin32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, mpArray16, byte(n>>8), byte(n))
	}
	return append(b, mpArray32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, mpMap16, byte(n>>8), byte(n))
	}
	return append(b, mpMap32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// headerLen is the size of the smallest array or map header for n elements.
func headerLen(n int) int {
	switch {
	case n < 16:
		return 1
	case n <= math.MaxUint16:
		return 3
	}
	return 5
}

// patchHeader writes the header of a container of n elements at b[pos:],
// where maxHeader bytes were reserved, and closes the gap if the header is
// shorter. It returns the new buffer.
func patchHeader(b []byte, pos, maxHeader, n int, isMap bool) []byte {
	h := headerLen(n)
	var hdr [5]byte
	var enc []byte
	if isMap {
		enc = appendMapHeader(hdr[:0], n)
	} else {
		enc = appendArrayHeader(hdr[:0], n)
	}
	copy(b[pos:], enc)
	if h < maxHeader {
		copy(b[pos+h:], b[pos+maxHeader:])
		b = b[:len(b)-(maxHeader-h)]
	}
	return b
}
