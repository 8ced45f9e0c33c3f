module github.com/e347a4c2/socketio

go 1.25

require github.com/coder/websocket v1.8.15
