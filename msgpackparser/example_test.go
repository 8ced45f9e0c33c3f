package msgpackparser_test

import (
	"fmt"
	"net/http"

	"github.com/e347a4c2/socketio/core"
	"github.com/e347a4c2/socketio/core/parser"
	"github.com/e347a4c2/socketio/msgpackparser"
)

func Example() {
	codec := msgpackparser.New()

	// Encoding: one binary message; []byte values are MessagePack bin,
	// wherever they are.
	type file struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	frames, err := codec.Encode(&parser.Packet{
		Type:      parser.Event,
		Namespace: "/admin",
		ID:        12,
		HasID:     true,
		Data:      []any{"upload", file{Name: "a.bin", Data: []byte{1, 2, 3}}},
	}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d frame, binary=%v, %d bytes\n", len(frames), frames[0].Binary, len(frames[0].Data))

	// Decoding.
	p, err := codec.NewDecoder().Add(frames[0].Data, true)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Type, p.Namespace, p.ID, p.Payload.Len())

	var event string
	var f file
	_ = p.Payload.Decode(0, &event)
	_ = p.Payload.Decode(1, &f)
	fmt.Printf("%s %s %v\n", event, f.Name, f.Data)

	v, _ := p.Payload.Value(1)
	fmt.Printf("%v\n", v)
	raw, _ := p.Payload.Raw(1)
	fmt.Println(string(raw))

	// Output:
	// 1 frame, binary=true, 57 bytes
	// EVENT /admin 12 2
	// upload a.bin [1 2 3]
	// map[data:[1 2 3] name:a.bin]
	// {"name":"a.bin","data":"AQID"}
}

// A server whose clients use socket.io-msgpack-parser.
func ExampleNew() {
	io := core.NewServer(core.WithCodec(msgpackparser.New()))
	io.OnConnection(func(s *core.Socket) {
		s.On("upload", func(ev *core.Event) {
			var data []byte // a Buffer, ArrayBuffer or typed array sent by the client
			if err := ev.Arg(0, &data); err == nil {
				_ = ev.Ack(len(data))
			}
		})
	})
	http.Handle("/socket.io/", io)
}
