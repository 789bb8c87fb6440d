package vm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// qmpTimeout bounds one QMP exchange when the context has no earlier
// deadline.
const qmpTimeout = 10 * time.Second

// QMPError is QEMU's answer {"error": {"class", "desc"}} to a command.
type QMPError struct {
	Command, Class, Desc string
}

func (e *QMPError) Error() string {
	return fmt.Sprintf("vm: QMP %s: %s: %s", e.Command, e.Class, e.Desc)
}

// qmpConn is a client of one QMP socket: the greeting, capabilities
// negotiation, then commands answered in order; asynchronous events are
// read and dropped. It is not safe for concurrent use (Machine holds a
// mutex around it).
type qmpConn struct {
	conn net.Conn
	r    *bufio.Reader
	next int
}

// qmpMsg is any message QEMU sends.
type qmpMsg struct {
	QMP    json.RawMessage `json:"QMP"`
	Event  string          `json:"event"`
	ID     *int            `json:"id"`
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
}

// dialQMP connects to the socket at path, reads the greeting and leaves
// capabilities negotiation mode.
func dialQMP(ctx context.Context, path string) (*qmpConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	q := &qmpConn{conn: c, r: bufio.NewReader(c)}
	stop := q.deadline(ctx)
	msg, err := q.read()
	stop()
	if err == nil && msg.QMP == nil {
		err = errors.New("no QMP greeting")
	}
	if err == nil {
		err = q.execute(ctx, "qmp_capabilities", nil, nil)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("vm: QMP handshake on %s: %w", path, err)
	}
	return q, nil
}

// deadline bounds I/O by ctx (and qmpTimeout); the returned func ends
// the watch on ctx.
func (q *qmpConn) deadline(ctx context.Context) func() bool {
	d := time.Now().Add(qmpTimeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	q.conn.SetDeadline(d)
	return context.AfterFunc(ctx, func() { q.conn.SetDeadline(time.Unix(1, 0)) })
}

// read returns the next message.
func (q *qmpConn) read() (qmpMsg, error) {
	var m qmpMsg
	line, err := q.r.ReadBytes('\n')
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return m, fmt.Errorf("bad QMP message %.200q: %w", line, err)
	}
	return m, nil
}

// execute runs cmd with args (nil: none) and decodes its return value
// into out (nil: ignored). An answer of QEMU's error kind is a *QMPError.
func (q *qmpConn) execute(ctx context.Context, cmd string, args, out any) error {
	defer q.deadline(ctx)()
	q.next++
	id := q.next
	req := map[string]any{"execute": cmd, "id": id}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("vm: QMP %s: %w", cmd, err)
	}
	for {
		m, err := q.read()
		if err != nil {
			return fmt.Errorf("vm: QMP %s: %w", cmd, err)
		}
		if m.Event != "" || m.ID == nil || *m.ID != id {
			continue // an event, or the answer to an abandoned command
		}
		if m.Error != nil {
			return &QMPError{Command: cmd, Class: m.Error.Class, Desc: m.Error.Desc}
		}
		if out == nil || m.Return == nil {
			return nil
		}
		return json.Unmarshal(m.Return, out)
	}
}

// human runs a human monitor command and returns its printed output.
func (q *qmpConn) human(ctx context.Context, line string) (string, error) {
	var out string
	err := q.execute(ctx, "human-monitor-command", map[string]string{"command-line": line}, &out)
	return out, err
}

func (q *qmpConn) close() error { return q.conn.Close() }
