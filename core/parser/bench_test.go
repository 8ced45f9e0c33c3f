package parser

import (
	"bytes"
	"encoding/json"
	"testing"
)

var (
	benchPrefix    = []byte("4")
	benchTextEvent = &Packet{Type: Event, Namespace: "/chat", Data: []any{
		"message",
		map[string]any{"user": "alice", "text": "hello <world> & friends", "ts": 1700000000, "tags": []string{"a", "b"}},
		42,
	}}
	benchBlob        = bytes.Repeat([]byte{0xAB}, 1024)
	benchBinaryEvent = &Packet{Type: Event, Data: []any{
		"upload",
		map[string]any{"name": "a.png", "size": 1024, "data": benchBlob},
	}}
	benchTextMsg   = []byte(`2/chat,17["message",{"tags":["a","b"],"text":"hello <world> & friends","ts":1700000000,"user":"alice"},42]`)
	benchBinaryMsg = []byte(`51-["upload",{"data":{"_placeholder":true,"num":0},"name":"a.png","size":1024}]`)
)

func BenchmarkEncodeTextEvent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := JSON.Encode(benchTextEvent, benchPrefix); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeTextEventStdlib is the baseline: json.Marshal of the same data.
func BenchmarkEncodeTextEventStdlib(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(benchTextEvent.Data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeBinaryEvent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := JSON.Encode(benchBinaryEvent, benchPrefix); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTextEvent(b *testing.B) {
	d := JSON.NewDecoder()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchTextMsg)))
	for b.Loop() {
		if p, err := d.Add(benchTextMsg, false); err != nil || p == nil {
			b.Fatal(p, err)
		}
	}
}

func BenchmarkDecodeBinaryEvent(b *testing.B) {
	d := JSON.NewDecoder()
	b.ReportAllocs()
	for b.Loop() {
		if p, err := d.Add(benchBinaryMsg, false); err != nil || p != nil {
			b.Fatal(p, err)
		}
		if p, err := d.Add(benchBlob, true); err != nil || p == nil {
			b.Fatal(p, err)
		}
	}
}

func benchPayload(b *testing.B, msgs ...[]byte) Payload {
	d := JSON.NewDecoder()
	var p *Packet
	for i, m := range msgs {
		var err error
		if p, err = d.Add(m, i > 0); err != nil {
			b.Fatal(err)
		}
	}
	return p.Payload
}

// BenchmarkPayloadValue decodes every element of a typical event as a plain value.
func BenchmarkPayloadValue(b *testing.B) {
	pl := benchPayload(b, benchTextMsg)
	b.ReportAllocs()
	for b.Loop() {
		for i := range pl.Len() {
			if _, err := pl.Value(i); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPayloadDecode decodes a typical event into typed arguments.
func BenchmarkPayloadDecode(b *testing.B) {
	pl := benchPayload(b, benchTextMsg)
	type message struct {
		User string   `json:"user"`
		Text string   `json:"text"`
		TS   int64    `json:"ts"`
		Tags []string `json:"tags"`
	}
	b.ReportAllocs()
	for b.Loop() {
		var (
			name string
			msg  message
			n    int
		)
		if err := pl.Decode(0, &name); err != nil {
			b.Fatal(err)
		}
		if err := pl.Decode(1, &msg); err != nil {
			b.Fatal(err)
		}
		if err := pl.Decode(2, &n); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPayloadDecodeBinary decodes an object holding an attachment into a struct.
func BenchmarkPayloadDecodeBinary(b *testing.B) {
	pl := benchPayload(b, benchBinaryMsg, benchBlob)
	type file struct {
		Name string `json:"name"`
		Size int    `json:"size"`
		Data []byte `json:"data"`
	}
	b.ReportAllocs()
	for b.Loop() {
		var f file
		if err := pl.Decode(1, &f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPayloadValueBinary resolves the placeholder of a binary event.
func BenchmarkPayloadValueBinary(b *testing.B) {
	pl := benchPayload(b, benchBinaryMsg, benchBlob)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pl.Value(1); err != nil {
			b.Fatal(err)
		}
	}
}
