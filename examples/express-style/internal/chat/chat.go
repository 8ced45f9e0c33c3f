// Package chat is the classic Socket.IO chat room, shared by the examples
// (chat, gin, echo, chi): its protocol on a *core.Server, and its web page.
//
// Protocol, on the main namespace "/":
//
//   - client -> server: "add user" (username), "new message" (text),
//     "typing", "stop typing";
//   - server -> the new user: "login" {numUsers};
//   - server -> everyone else: "user joined" {username, numUsers},
//     "new message" {username, message} (never echoed to its sender),
//     "typing" {username}, "stop typing" {username},
//     "user left" {username, numUsers}.
//
// Events of a client that has not sent "add user" are ignored.
package chat

import (
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/e347a4c2/socketio/core"
)

// Limits on what clients send.
const (
	MaxUsername = 32   // runes
	MaxMessage  = 2000 // runes
)

// Chat is a chat room on the main namespace of a server.
type Chat struct {
	mu       sync.Mutex
	numUsers int
}

// Count is the payload of "login", "user joined" and "user left".
type Count struct {
	Username string `json:"username,omitempty"`
	NumUsers int    `json:"numUsers"`
}

// Message is the payload of "new message".
type Message struct {
	Username string `json:"username"`
	Message  string `json:"message"`
}

// User is the payload of "typing" and "stop typing".
type User struct {
	Username string `json:"username"`
}

// Register installs the chat on the main namespace of io.
func Register(io *core.Server) *Chat {
	c := &Chat{}
	io.OnConnection(c.onConnection)
	return c
}

// NumUsers returns the number of users in the room.
func (c *Chat) NumUsers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.numUsers
}

func (c *Chat) onConnection(s *core.Socket) {
	// A socket's handlers run one at a time, so its username needs no lock.
	var username string

	core.On(s, "add user", func(s *core.Socket, name string) {
		name = clip(strings.TrimSpace(name), MaxUsername)
		if username != "" || name == "" {
			return
		}
		username = name
		c.mu.Lock()
		c.numUsers++
		n := c.numUsers
		c.mu.Unlock()
		_ = s.Emit("login", Count{NumUsers: n})
		_ = s.Broadcast().Emit("user joined", Count{Username: username, NumUsers: n})
	})
	core.On(s, "new message", func(s *core.Socket, text string) {
		if username == "" || text == "" {
			return
		}
		_ = s.Broadcast().Emit("new message", Message{Username: username, Message: clip(text, MaxMessage)})
	})
	s.On("typing", func(*core.Event) {
		if username != "" {
			_ = s.Broadcast().Emit("typing", User{Username: username})
		}
	})
	s.On("stop typing", func(*core.Event) {
		if username != "" {
			_ = s.Broadcast().Emit("stop typing", User{Username: username})
		}
	})
	s.OnDisconnect(func(core.DisconnectReason) {
		if username == "" {
			return
		}
		c.mu.Lock()
		c.numUsers--
		n := c.numUsers
		c.mu.Unlock()
		_ = s.Broadcast().Emit("user left", Count{Username: username, NumUsers: n})
	})
}

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
