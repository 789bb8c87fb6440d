package ui

import (
	"slices"
	"strconv"
	"strings"
)

// A job's progress fragment is made of parts, each one element with an
// id (templates/job.html): the head (state, elapsed, bytes), the graph,
// one row per task shown, and the tail (more tasks, outputs). A job's
// stream sends the whole fragment first, then a "patch" event with only
// the parts whose HTML changed since it last sent them (the rows inside
// one table, rowsOpen); job.js puts each in place of the element with its
// id. While a job runs the elapsed time
// changes every second, so a patch usually carries the head and the rows
// of the tasks that moved, not every row.

// rowsOpen and rowsClose wrap a patch's task rows: HTML parses a <tr>
// only inside a table. job.js places the rows, not the table.
const (
	rowsOpen  = `<table class="patch-rows"><tbody>`
	rowsClose = `</tbody></table>`
)

// part is one element of the fragment, rendered.
type part struct{ id, html string }

// partsSent is what one stream last sent: the parts' ids in order and
// their HTML. It belongs to one stream's goroutine; the zero value has
// sent nothing.
type partsSent struct {
	ids  []string
	html map[string]string
}

// jobParts renders the parts of a job's fragment in page order.
func (h *Handler) jobParts(st *jobState) ([]part, error) {
	parts := make([]part, 0, len(st.Tasks)+3)
	add := func(id, name string, data any) error {
		html, err := h.renderFrame("job", name, data)
		parts = append(parts, part{id, strings.TrimSpace(html)})
		return err
	}
	if err := add("job-head", "job-head", st); err != nil {
		return nil, err
	}
	if err := add("job-graph-card", "job-graph", st); err != nil {
		return nil, err
	}
	for _, t := range st.Tasks {
		if err := add("task-"+strconv.Itoa(t.Phase)+"-"+strconv.Itoa(t.Index), "task-row", t); err != nil {
			return nil, err
		}
	}
	return parts, add("job-tail", "job-tail", st)
}

// jobFrame is the stream's next frame for st: the whole fragment when
// nothing was sent yet or the parts are not the ones sent (other rows
// shown), else a patch of the changed parts (empty: nothing changed).
func (h *Handler) jobFrame(sent *partsSent, st *jobState) (frame, error) {
	parts, err := h.jobParts(st)
	if err != nil {
		return frame{}, err
	}
	ids := make([]string, len(parts))
	for i, p := range parts {
		ids[i] = p.id
	}
	if sent.html == nil || !slices.Equal(ids, sent.ids) {
		html, err := h.renderFrame("job", "progress", st)
		sent.ids, sent.html = ids, map[string]string{}
		for _, p := range parts {
			sent.html[p.id] = p.html
		}
		return frame{data: html}, err
	}
	var b, rows strings.Builder
	for _, p := range parts {
		if sent.html[p.id] == p.html {
			continue
		}
		sent.html[p.id] = p.html
		if strings.HasPrefix(p.id, "task-") {
			rows.WriteString(p.html + "\n")
		} else {
			b.WriteString(p.html + "\n")
		}
	}
	if rows.Len() > 0 { // a <tr> parses only inside a table
		b.WriteString(rowsOpen + "\n" + rows.String() + rowsClose + "\n")
	}
	return frame{event: "patch", data: b.String()}, nil
}
