package redisadapter

import (
	"testing"

	"github.com/e347a4c2/socketio/core/adapter"
	"github.com/e347a4c2/socketio/core/parser"
)

var benchPacket = &parser.Packet{Type: parser.Event, Namespace: "/", Data: []any{"tick", 1,
	map[string]any{"text": "hello from the other node", "n": 42, "list": []any{1, 2, 3}}}}

func BenchmarkEncodeBroadcast(b *testing.B) {
	opts := &adapter.BroadcastOptions{Rooms: []adapter.Room{"bench"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeBroadcast("abcdef", benchPacket, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBroadcast(b *testing.B) {
	msg, err := encodeBroadcast("abcdef", benchPacket, &adapter.BroadcastOptions{Rooms: []adapter.Room{"bench"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeBroadcast(msg); err != nil {
			b.Fatal(err)
		}
	}
}
