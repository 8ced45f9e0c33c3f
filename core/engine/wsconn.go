package engine

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// wsConn is the server side of one WebSocket. coder/websocket reads the
// client's messages and writes control frames (pongs, close); data frames
// are framed here, so that the frames queued on a session leave in one
// write, and a write the socket takes at once needs no goroutine (see
// Session.Send).
type wsConn struct {
	conn *websocket.Conn
	nc   net.Conn
	// raw writes without blocking; nil when the connection has no file
	// descriptor (a TLS connection): data frames are then written by a
	// writer goroutine.
	raw syscall.RawConn
	// framed is false when permessage-deflate is negotiated: coder/websocket
	// then writes the data frames, compressed.
	framed bool
	// v3 is set for a client of protocol 3, whose binary messages carry
	// the packet type byte; b64 when that client takes no binary frames.
	v3, b64 bool

	// wmu serializes the writes on nc: the data frames written here and the
	// control frames coder/websocket writes through ctrlWriter. A frame is
	// always written whole under one hold of wmu.
	wmu sync.Mutex
	// The state of tryWrite, used under wmu.
	tryBuf []byte
	tryErr error
	tryFn  func(fd uintptr) bool

	// Reads. br is the reader coder/websocket reads frames from; below it,
	// netConn serves what waitReadable read from the socket into a pooled
	// buffer, then reads the socket itself. rmu guards what follows it: the
	// reader and coder/websocket's close handshake (see beginClose) may
	// both read.
	br          *bufio.Reader
	rmu         sync.Mutex
	pend        *[]byte // pooled; (*pend)[pendOff:] was read from the socket, not yet by br
	pendOff     int
	pendErr     error // what ended the socket in waitReadable (io.EOF, a reset)
	closingRead bool
	waitFn      func(fd uintptr) bool
	reads       readTask
	// nextReader starts the next waiter (readLoop); bound once, so that
	// starting one allocates no closure.
	nextReader func()
}

// Sizes of the buffers coder/websocket gets instead of the 4 KiB ones
// net/http hands over at Hijack, which would otherwise stay allocated for
// the whole life of every connection, busy or idle. Reads are buffered
// below the reader (see netConn), in pooled buffers held only while data
// is at hand. Control frames are at most 139 bytes, so that one of them
// always reaches ctrlWriter in a single Write.
const (
	wsReadBufferSize   = 16 // bufio's minimum
	wsControlBufSize   = 256
	wsCompressBufSize  = 4096 // coder/websocket writes compressed data frames through it
	maxPooledWriteSize = 64 << 10
)

// ctrlWriter is where coder/websocket's bufio.Writer flushes to.
type ctrlWriter struct{ w *wsConn }

func (c ctrlWriter) Write(p []byte) (int, error) {
	c.w.wmu.Lock()
	defer c.w.wmu.Unlock()
	return c.w.nc.Write(p)
}

// hijackWriter hands coder/websocket a hijacked connection without the
// deadlines an http.Server's ReadTimeout or WriteTimeout left on it, which
// would otherwise cut a long-lived WebSocket, and with small buffers of
// its own (see wsReadBufferSize).
type hijackWriter struct {
	http.ResponseWriter
	ws       *wsConn
	compress bool
}

func (w hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return c, brw, err
	}
	_ = c.SetDeadline(time.Time{})
	w.ws.nc = c
	w.ws.raw = rawConn(c)
	nc := netConn{c, w.ws}
	// Keep what the client sent after the handshake request: bytes already
	// in net/http's reader move into the new one.
	var br *bufio.Reader
	if n := brw.Reader.Buffered(); n > 0 {
		pending, _ := brw.Peek(n)
		pending = bytes.Clone(pending)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(pending), nc), max(wsReadBufferSize, n))
		_, _ = br.Peek(n)
	} else {
		br = bufio.NewReaderSize(nc, wsReadBufferSize)
	}
	w.ws.br = br
	// net/http's writer holds nothing once the response is flushed (Accept
	// flushes the 101 answer before it hijacks).
	size := wsControlBufSize
	if w.compress {
		size = wsCompressBufSize
	}
	bw := bufio.NewWriterSize(ctrlWriter{w.ws}, size)
	return nc, bufio.NewReadWriter(br, bw), nil
}

// WriteHeaderNow forwards to writers that delay the status line (gin's).
func (w hijackWriter) WriteHeaderNow() {
	if n, ok := w.ResponseWriter.(interface{ WriteHeaderNow() }); ok {
		n.WriteHeaderNow()
	}
}

func (w hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// netConn is the connection coder/websocket gets: its reads first take what
// waitReadable read.
type netConn struct {
	net.Conn
	w *wsConn
}

func (c netConn) Read(p []byte) (int, error) {
	w := c.w
	w.rmu.Lock()
	if w.pend != nil {
		b := (*w.pend)[w.pendOff:]
		n := copy(p, b)
		w.pendOff += n
		if n == len(b) {
			putPend(w.pend)
			w.pend = nil
		}
		w.rmu.Unlock()
		return n, nil
	}
	err := w.pendErr
	w.rmu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// pendSize is the size of the pooled buffers waitReadable reads into: what
// an idle connection's reader holds is nothing, not a buffer.
const pendSize = 4096

var pendPool = sync.Pool{New: func() any { b := make([]byte, pendSize); return &b }}

func putPend(bp *[]byte) {
	*bp = (*bp)[:cap(*bp)]
	pendPool.Put(bp)
}

// waitReadable waits until the client has sent something, and reads it
// into a pooled buffer. It parks the reader at a shallow depth, not inside
// coder/websocket's frame reader, and with no buffer, so that an idle
// connection's reader costs a minimal stack. With data already at hand it
// returns at once.
func (w *wsConn) waitReadable() error {
	if w.raw == nil {
		return nil
	}
	w.rmu.Lock()
	closing := w.closingRead
	ready := !closing && (w.pend != nil || w.pendErr != nil || w.br.Buffered() > 0)
	w.rmu.Unlock()
	if closing {
		return errClosingRead
	}
	if ready {
		return nil
	}
	if w.waitFn == nil {
		w.waitFn = w.fillPending
	}
	return w.raw.Read(w.waitFn)
}

// errClosingRead stops the reader of a connection whose graceful close
// reads what remains.
var errClosingRead = errors.New("engine: closing")

// dataAtHand reports whether the next read has data without waiting: what
// waitReadable read or br buffers, or the error that ended the socket. It
// reports false once a graceful close began: its handshake reads the rest.
func (w *wsConn) dataAtHand() bool {
	w.rmu.Lock()
	defer w.rmu.Unlock()
	return !w.closingRead && (w.pend != nil || w.pendErr != nil || w.br.Buffered() > 0)
}

// beginClose is called before coder/websocket's Close, which reads the
// client's answer from br in its own goroutine: the reader no longer looks
// at br.
func (w *wsConn) beginClose() {
	w.rmu.Lock()
	w.closingRead = true
	w.rmu.Unlock()
}

// readMessage reads the next data message into a buffer of its exact size,
// which the caller owns.
func (w *wsConn) readMessage() (websocket.MessageType, []byte, error) {
	typ, r, err := w.conn.Reader(bgctx)
	if err != nil {
		return 0, nil, err
	}
	bp := readBufPool.Get().(*[]byte)
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			putReadBuf(bp, b)
			return 0, nil, err
		}
	}
	data := make([]byte, len(b))
	copy(data, b)
	putReadBuf(bp, b)
	return typ, data, nil
}

var readBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func putReadBuf(bp *[]byte, b []byte) {
	if cap(b) > maxPooledWriteSize {
		return
	}
	*bp = b[:0]
	readBufPool.Put(bp)
}

// rawConn returns c's raw connection when the engine can read and write
// its file descriptor itself without blocking: for the standard library's
// own TCP and Unix connections only, as a wrapper (a PROXY protocol
// listener's, a metering one) may buffer or transform what goes through it,
// and with the descriptor in non-blocking mode, as the net package sets it.
func rawConn(c net.Conn) syscall.RawConn {
	if !canTryWrite {
		return nil
	}
	var sc syscall.Conn
	switch c := c.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	nonblocking := false
	if raw.Control(func(fd uintptr) { nonblocking = isNonblocking(fd) }) != nil || !nonblocking {
		return nil
	}
	return raw
}

// appendFrame appends the WebSocket frame of f, unmasked as a server's
// frames are, as a single final frame.
func appendFrame(dst []byte, f Frame) []byte {
	op := byte(0x80 | 0x1) // FIN, text
	if f.Binary {
		op = 0x80 | 0x2
	}
	return append(appendFrameHeader(dst, op, len(f.Data)), f.Data...)
}

// appendFrameV3 is appendFrame for a protocol 3 client: a binary message
// carries the packet type byte before its data, or is sent as "b4" and
// base64 text to a client without binary support (b64).
func appendFrameV3(dst []byte, f Frame, b64 bool) []byte {
	switch {
	case !f.Binary:
		return appendFrame(dst, f)
	case b64:
		dst = appendFrameHeader(dst, 0x80|0x1, 2+base64.StdEncoding.EncodedLen(len(f.Data)))
		dst = append(dst, 'b', byte(PacketMessage))
		return base64.StdEncoding.AppendEncode(dst, f.Data)
	default:
		dst = appendFrameHeader(dst, 0x80|0x2, 1+len(f.Data))
		dst = append(dst, binaryPacketType)
		return append(dst, f.Data...)
	}
}

// appendFrameHeader appends the header of a final, unmasked frame of
// opcode byte op and n bytes of data.
func appendFrameHeader(dst []byte, op byte, n int) []byte {
	switch {
	case n < 126:
		dst = append(dst, op, byte(n))
	case n <= 0xffff:
		dst = append(dst, op, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, op, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return dst
}

func framesLen(frames []Frame) int {
	n := 0
	for _, f := range frames {
		n += 10 + len(f.Data)
	}
	return n
}

var writeBufPool = sync.Pool{New: func() any { return new([]byte) }}

// encodeFrames returns the frames, framed for w's client, in a pooled
// buffer; release it with putWriteBuf.
func (w *wsConn) encodeFrames(frames []Frame) *[]byte {
	bp := writeBufPool.Get().(*[]byte)
	b := (*bp)[:0]
	if n := framesLen(frames); cap(b) < n {
		b = make([]byte, 0, max(n, 512))
	}
	if w.v3 {
		for _, f := range frames {
			b = appendFrameV3(b, f, w.b64)
		}
	} else {
		for _, f := range frames {
			b = appendFrame(b, f)
		}
	}
	*bp = b
	return bp
}

func putWriteBuf(bp *[]byte) {
	if cap(*bp) > maxPooledWriteSize {
		return
	}
	*bp = (*bp)[:0]
	writeBufPool.Put(bp)
}

// errWouldBlock reports a write the socket could not take at once.
var errWouldBlock = errors.New("engine: write would block")

// tryWriteLocked writes b without blocking, wmu held. It returns how much
// was written; errWouldBlock when the socket could not take all of it.
func (w *wsConn) tryWriteLocked(b []byte) (int, error) {
	if w.tryFn == nil {
		w.tryFn = w.tryWrite
	}
	w.tryBuf, w.tryErr = b, nil
	err := w.raw.Write(w.tryFn)
	n := len(b) - len(w.tryBuf)
	if err == nil {
		err = w.tryErr
	}
	w.tryBuf, w.tryErr = nil, nil
	if err == nil && n < len(b) {
		err = errWouldBlock
	}
	return n, err
}
