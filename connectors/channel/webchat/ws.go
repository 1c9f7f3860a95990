package webchat

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/casino-support/gateway/connectors"
)

const (
	// helloTimeout is how long a new connection may stay silent before its hello.
	helloTimeout = 10 * time.Second
	// writeTimeout bounds one frame to a page; a page that cannot take it is closed and
	// catches up from the history when it reconnects.
	writeTimeout = 10 * time.Second
	// pingEvery keeps idle connections alive through proxies that drop silent ones, and
	// notices dead peers.
	pingEvery = 30 * time.Second
	// outBuffer is how many frames may wait for a slow page before it is kicked.
	outBuffer = 64
	// inBuffer is how many frames the reader takes ahead while the handler waits for the
	// sink; only past it does reading stop (and with it pongs and close frames).
	inBuffer = 16
)

// serveWS is the real-time transport: after a hello it pushes replies and typing hints and
// takes messages, receipts and typing, each frame one JSON text message.
func (c *Channel) serveWS(w http.ResponseWriter, r *http.Request) {
	if !c.origins.check(r) {
		refuseOrigin(w, r)
		return
	}
	// The place is taken before the handshake: a socket that never says hello costs as much.
	client := connectors.ClientKey(r)
	refusal := c.conns.acquire(client)
	if refusal == "" {
		defer c.conns.release(client)
	}
	// The Origin was checked above against allowed_origins and the public URL, which the
	// library's own host-only patterns cannot express.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		c.log.Debug("websocket handshake failed", "err", err)
		return // Accept has answered
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxFrameBytes)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ws := &wsSession{c: c, conn: conn, ctx: ctx, cancel: cancel, client: client}
	if refusal != "" {
		// Refused after the handshake, so the page can show why; it backs off and reconnects.
		ws.write(encode(c.refuse(refusal, client, "", "").frame()))
		conn.Close(websocket.StatusTryAgainLater, refusal)
		return
	}
	code, reason := ws.run()
	conn.Close(code, reason)
}

// wsSession is one WebSocket connection: the handler goroutine acts on frames in order, a
// reader feeds it, a writer drains the page's queue, a pinger keeps the line alive.
type wsSession struct {
	c      *Channel
	conn   *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	client string // connectors.ClientKey of the upgrade request
}

func (s *wsSession) run() (websocket.StatusCode, string) {
	c := s.c
	hctx, hcancel := context.WithTimeout(s.ctx, helloTimeout)
	typ, data, err := s.conn.Read(hctx)
	hcancel()
	if err != nil {
		return websocket.StatusPolicyViolation, "no hello"
	}
	f, ferr := parseClientFrame(data)
	if ferr == nil && (typ != websocket.MessageText || f.Type != typeHello) {
		ferr = &frameError{Code: codeHelloFirst, Message: "The first frame must be a hello."}
	}
	var id identity
	if ferr == nil {
		id, ferr = c.identify(f, s.client)
	}
	if ferr != nil {
		s.write(encode(ferr.frame()))
		if ferr.Code == codeUnavailable {
			return websocket.StatusTryAgainLater, ferr.Code // a limit: the same hello works later
		}
		return websocket.StatusPolicyViolation, ferr.Code
	}
	sess := session{id: id, addr: id.address(), client: s.client}
	page := &pageConn{out: make(chan []byte, outBuffer), kick: s.kick}
	if !c.hub.join(sess.addr, page) {
		s.write(encode(c.refuse(reasonConvConnections, s.client, sess.addr, "").frame()))
		return websocket.StatusTryAgainLater, codeTooManyClients
	}
	defer c.hub.leave(sess.addr, page)
	welcome, ferr := c.welcome(s.ctx, id)
	if ferr != nil {
		s.write(encode(ferr.frame()))
		return websocket.StatusTryAgainLater, ferr.Code
	}
	if err := s.write(encode(welcome)); err != nil {
		return websocket.StatusGoingAway, ""
	}
	c.log.Debug("page connected", "conv", sess.addr, "transport", "websocket")

	frames := make(chan []byte, inBuffer)
	go s.read(frames)
	go s.writeLoop(page.out)
	go s.ping()
	for {
		select {
		case <-s.ctx.Done():
			return websocket.StatusGoingAway, ""
		case data, ok := <-frames:
			if !ok {
				return websocket.StatusNormalClosure, ""
			}
			var resp any
			if f, ferr := parseClientFrame(data); ferr != nil {
				resp = ferr.frame()
			} else {
				resp = c.handle(s.ctx, sess, f, page)
			}
			if resp == nil {
				continue
			}
			select {
			case page.out <- encode(resp):
			case <-s.ctx.Done():
				return websocket.StatusGoingAway, ""
			}
		}
	}
}

// read feeds text frames to the handler until the connection ends. It reads ahead (see
// inBuffer) while the handler waits for the sink, so pongs and close frames are still seen.
func (s *wsSession) read(frames chan<- []byte) {
	defer close(frames)
	for {
		typ, data, err := s.conn.Read(s.ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			data = nil // parseClientFrame refuses it with a clear error
		}
		select {
		case frames <- data:
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *wsSession) writeLoop(out <-chan []byte) {
	for {
		select {
		case <-s.ctx.Done():
			return
		case b := <-out:
			if err := s.write(b); err != nil {
				s.cancel()
				return
			}
		}
	}
}

func (s *wsSession) write(b []byte) error {
	ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
	defer cancel()
	return s.conn.Write(ctx, websocket.MessageText, b)
}

func (s *wsSession) ping() {
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
			err := s.conn.Ping(ctx)
			cancel()
			if err != nil {
				s.cancel()
				return
			}
		}
	}
}

// kick closes the connection with reason; the hub calls it under its lock, so it must not
// block.
func (s *wsSession) kick(reason string) {
	s.once.Do(func() {
		go func() {
			s.conn.Close(websocket.StatusGoingAway, reason)
			s.cancel()
		}()
	})
}
