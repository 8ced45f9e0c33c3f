package redisadapter_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/e347a4c2/socketio/core"
)

// installOps gives clients the control of cluster operations, with the
// protocol of test/node/redis/server.mjs (the Node server of the interop
// test): a client emits "op" with {op, ...} and gets the result, or
// {error}, in the acknowledgement.
func installOps(io *core.Server, name string) {
	var mu sync.Mutex
	var serverEvents []any
	io.Of("/").OnServerSideEmit("sse", func(e *core.ServerEvent) {
		mu.Lock()
		serverEvents = append(serverEvents, e.Args)
		mu.Unlock()
		if e.WantsAck() {
			_ = e.Ack(map[string]any{"from": name, "args": e.Args})
		}
	})
	io.OnConnection(func(s *core.Socket) {
		s.On("op", func(e *core.Event) {
			vals, err := e.Values()
			var res any
			if err == nil && len(vals) > 0 {
				op, _ := vals[0].(map[string]any)
				res, err = runOp(s.Context(), io, op, func() []any {
					mu.Lock()
					defer mu.Unlock()
					list := serverEvents
					serverEvents = nil
					if list == nil {
						list = []any{} // a JSON list, not null, while none has come
					}
					return list
				})
			}
			if err != nil {
				res = map[string]any{"error": err.Error()}
			}
			_ = e.Ack(res)
		})
	})
}

func strs(v any) []core.Room {
	list, _ := v.([]any)
	out := make([]core.Room, 0, len(list))
	for _, x := range list {
		out = append(out, core.Room(fmt.Sprint(x)))
	}
	return out
}

func runOp(ctx context.Context, io *core.Server, op map[string]any, events func() []any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	sel := io.Of("/").To(strs(op["rooms"])...).Except(strs(op["except"])...)
	if op["local"] == true {
		sel = sel.Local()
	}
	if op["volatile"] == true {
		sel = sel.Volatile()
	}
	event, _ := op["event"].(string)
	args, _ := op["args"].([]any)
	id, _ := op["id"].(string)
	switch op["op"] {
	case "emit":
		return "ok", sel.Emit(event, args...)
	case "emitWithAck":
		acks, err := sel.Timeout(10*time.Second).EmitWithAck(ctx, event, args...)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(acks))
		for i, a := range acks {
			vals, err := a.Values()
			if err != nil {
				return nil, err
			}
			if len(vals) > 0 {
				out[i] = vals[0] // the first argument, as Node keeps
			}
		}
		return out, nil
	case "fetchSockets":
		sockets, err := sel.FetchSockets(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(sockets))
		for i, r := range sockets {
			h := r.Handshake
			headers := map[string]any{}
			for k, v := range h.Headers {
				headers[k] = v
			}
			out[i] = map[string]any{
				"id": r.ID, "rooms": r.Rooms, "data": r.Data,
				"handshake": map[string]any{
					"headers": headers, "time": h.Time.UnixMilli(), "address": h.Address, "xdomain": h.XDomain,
					"secure": h.Secure, "url": h.URL, "query": h.Query, "auth": h.Auth,
				},
			}
		}
		return out, nil
	case "remoteEmit", "remoteJoin", "remoteLeave", "remoteDisconnect":
		sockets, err := io.Of("/").In(core.Room(id)).FetchSockets(ctx)
		if err != nil {
			return nil, err
		}
		if len(sockets) != 1 {
			return nil, fmt.Errorf("%d sockets with id %s", len(sockets), id)
		}
		r := sockets[0]
		room, _ := op["room"].(string)
		switch op["op"] {
		case "remoteEmit":
			err = r.Emit(event, args...)
		case "remoteJoin":
			err = r.Join(ctx, core.Room(room))
		case "remoteLeave":
			err = r.Leave(ctx, core.Room(room))
		default:
			err = r.Disconnect(ctx, op["close"] == true)
		}
		return "ok", err
	case "socketsJoin":
		return "ok", sel.SocketsJoin(ctx, strs(op["join"])...)
	case "socketsLeave":
		return "ok", sel.SocketsLeave(ctx, strs(op["leave"])...)
	case "disconnectSockets":
		return "ok", sel.DisconnectSockets(ctx, op["close"] == true)
	case "serverSideEmit":
		return "ok", io.Of("/").ServerSideEmit(ctx, event, args...)
	case "serverSideEmitWithAck":
		acks, err := io.Of("/").ServerSideEmitWithAck(ctx, event, args...)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(acks))
		for i, a := range acks {
			vals, _ := a.Values()
			if len(vals) > 0 {
				out[i] = vals[0]
			}
		}
		return out, nil
	case "serverEvents":
		return events(), nil
	case "serverCount":
		return io.Of("/").Adapter().ServerCount(ctx)
	case "allRooms":
		return io.Of("/").Adapter().AllRooms(ctx)
	}
	return nil, fmt.Errorf("unknown op %v", op["op"])
}
