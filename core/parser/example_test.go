package parser_test

import (
	"fmt"

	"github.com/e347a4c2/socketio/core/parser"
)

func Example() {
	// Encoding: []byte values become binary attachments.
	frames, err := parser.JSON.Encode(&parser.Packet{
		Type:      parser.Event,
		Namespace: "/admin",
		ID:        12,
		HasID:     true,
		Data:      []any{"upload", map[string]any{"name": "a.bin", "data": []byte{1, 2, 3}}},
	}, []byte("4")) // the Engine.IO message type, prepended for free
	if err != nil {
		panic(err)
	}
	for _, f := range frames {
		fmt.Printf("binary=%v %q\n", f.Binary, f.Data)
	}

	// Decoding: feed the messages (without the Engine.IO prefix) one by one.
	d := parser.JSON.NewDecoder()
	var p *parser.Packet
	for i, f := range frames {
		data := f.Data
		if i == 0 {
			data = data[1:] // the Engine.IO layer strips its "4"
		}
		if p, err = d.Add(data, f.Binary); err != nil {
			panic(err)
		}
	}
	fmt.Println(p.Type, p.Namespace, p.ID, p.Payload.Len())

	var event string
	var file struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	_ = p.Payload.Decode(0, &event)
	_ = p.Payload.Decode(1, &file)
	fmt.Printf("%s %s %v\n", event, file.Name, file.Data)

	v, _ := p.Payload.Value(1)
	fmt.Printf("%v\n", v)
	raw, _ := p.Payload.Raw(1)
	fmt.Println(string(raw))

	// Output:
	// binary=false "451-/admin,12[\"upload\",{\"data\":{\"_placeholder\":true,\"num\":0},\"name\":\"a.bin\"}]"
	// binary=true "\x01\x02\x03"
	// EVENT /admin 12 2
	// upload a.bin [1 2 3]
	// map[data:[1 2 3] name:a.bin]
	// {"data":"AQID","name":"a.bin"}
}
