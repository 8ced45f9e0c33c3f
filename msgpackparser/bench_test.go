package msgpackparser

import (
	"bytes"
	"testing"

	"github.com/e347a4c2/socketio/core/parser"
)

// The benchmarks compare this codec with parser.JSON on the same packets: a
// typical text-only event and one carrying a 1 KiB binary.

var (
	benchTextEvent = &parser.Packet{Type: parser.Event, Namespace: "/chat", ID: 17, HasID: true, Data: []any{
		"message",
		map[string]any{"user": "alice", "text": "hello <world> & friends", "ts": 1700000000, "tags": []string{"a", "b"}},
		42,
	}}
	benchPrefix      = []byte("4")
	benchBlob        = bytes.Repeat([]byte{0xAB}, 1024)
	benchBinaryEvent = &parser.Packet{Type: parser.Event, Data: []any{
		"upload",
		map[string]any{"name": "a.png", "size": 1024, "data": benchBlob},
	}}
	benchCodecs = []struct {
		name  string
		codec parser.Codec
	}{
		{"msgpack", New()},
		{"json", parser.JSON},
	}
	benchPackets = []struct {
		name string
		p    *parser.Packet
	}{
		{"text", benchTextEvent},
		{"binary1KiB", benchBinaryEvent},
	}
)

type benchMessage struct {
	User string   `json:"user"`
	Text string   `json:"text"`
	TS   int64    `json:"ts"`
	Tags []string `json:"tags"`
}

type benchUpload struct {
	Name string `json:"name"`
	Size int    `json:"size"`
	Data []byte `json:"data"`
}

func BenchmarkEncode(b *testing.B) {
	for _, pk := range benchPackets {
		for _, c := range benchCodecs {
			b.Run(pk.name+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.codec.Encode(pk.p, benchPrefix); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// benchDecode feeds the frames of an encoded packet (without the Engine.IO
// prefix) and returns the packet.
func benchDecode(b *testing.B, d parser.Decoder, frames []parser.Frame) *parser.Packet {
	var p *parser.Packet
	var err error
	for i, f := range frames {
		data := f.Data
		if i == 0 && !f.Binary {
			data = data[1:]
		}
		if p, err = d.Add(data, f.Binary); err != nil {
			b.Fatal(err)
		}
	}
	if p == nil {
		b.Fatal("no packet")
	}
	return p
}

// BenchmarkDecode measures Decoder.Add alone (validation; payloads are
// decoded lazily).
func BenchmarkDecode(b *testing.B) {
	for _, pk := range benchPackets {
		for _, c := range benchCodecs {
			frames, err := c.codec.Encode(pk.p, []byte("4"))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(pk.name+"/"+c.name, func(b *testing.B) {
				d := c.codec.NewDecoder()
				b.ReportAllocs()
				for b.Loop() {
					benchDecode(b, d, frames)
				}
			})
		}
	}
}

// BenchmarkDecodeArgs decodes the packet and its arguments into typed
// values, as an On[T] handler does.
func BenchmarkDecodeArgs(b *testing.B) {
	for _, pk := range benchPackets {
		for _, c := range benchCodecs {
			frames, err := c.codec.Encode(pk.p, []byte("4"))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(pk.name+"/"+c.name, func(b *testing.B) {
				d := c.codec.NewDecoder()
				b.ReportAllocs()
				for b.Loop() {
					p := benchDecode(b, d, frames)
					var name string
					if err := p.Payload.Decode(0, &name); err != nil {
						b.Fatal(err)
					}
					if pk.name == "text" {
						var m benchMessage
						var n int
						if p.Payload.Decode(1, &m) != nil || p.Payload.Decode(2, &n) != nil || n != 42 {
							b.Fatal("decoding")
						}
					} else {
						var u benchUpload
						if p.Payload.Decode(1, &u) != nil || len(u.Data) != 1024 {
							b.Fatal("decoding")
						}
					}
				}
			})
		}
	}
}

// BenchmarkValues decodes the packet and all its elements as plain values
// (what Args.Values gives, e.g. to relay an event).
func BenchmarkValues(b *testing.B) {
	for _, pk := range benchPackets {
		for _, c := range benchCodecs {
			frames, err := c.codec.Encode(pk.p, []byte("4"))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(pk.name+"/"+c.name, func(b *testing.B) {
				d := c.codec.NewDecoder()
				b.ReportAllocs()
				for b.Loop() {
					p := benchDecode(b, d, frames)
					for i := range p.Payload.Len() {
						if _, err := p.Payload.Value(i); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// TestBenchSizes logs the message sizes of the benchmark packets.
func TestBenchSizes(t *testing.T) {
	for _, pk := range benchPackets {
		for _, c := range benchCodecs {
			frames, err := c.codec.Encode(pk.p, nil)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, f := range frames {
				n += len(f.Data)
			}
			t.Logf("%s/%s: %d frame(s), %d bytes", pk.name, c.name, len(frames), n)
		}
	}
}
