package rt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/casino-support/gateway/connectors"
	"github.com/casino-support/gateway/normalize/htmltext"
)

// maxErrorBody caps how much of an error answer goes into an error message.
const maxErrorBody = 512

// client speaks REST2 with a token. It knows RT's JSON shapes, nothing of the gateway's model.
type client struct {
	base  string // REST2 base without trailing slash
	token string
	http  *http.Client
}

// flexString decodes a JSON string, number or null into a string: REST2 answers IDs as
// strings but values of transactions vary with the field they changed.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	*f = flexString(strings.TrimSpace(string(b)))
	return nil
}

func (f flexString) int() int {
	n, _ := strconv.Atoi(string(f))
	return n
}

// user is a user reference expanded with fields[Creator]=Name,RealName,EmailAddress. Both
// "type" and "Type"-like keys exist on REST2 objects, so every field is tagged exactly.
type user struct {
	Kind         string     `json:"type"`
	ID           flexString `json:"id"`
	Name         string     `json:"Name"`
	RealName     string     `json:"RealName"`
	EmailAddress string     `json:"EmailAddress"`
	// Privileged is 1 for staff, 0 for everyone else, on GET /user only: an expansion
	// answers "" for every user.
	Privileged flexString `json:"Privileged"`
}

// txn is a ticket transaction as listed with txnFields.
type txn struct {
	Kind     string     `json:"type"` // always "transaction"
	ID       flexString `json:"id"`
	Ticket   flexString `json:"ObjectId"` // the ticket: only ticket transactions are listed
	Type     string     `json:"Type"`     // Create, Correspond, Comment, Status, ...
	Field    string     `json:"Field"`
	OldValue flexString `json:"OldValue"`
	NewValue flexString `json:"NewValue"`
	Created  string     `json:"Created"`
	Creator  user       `json:"Creator"`
}

// attachment is one MIME part of a transaction. RT stores every part as an "attachment":
// the multipart container, the text/plain or text/html body and the files.
type attachment struct {
	Kind          string     `json:"type"`
	ID            flexString `json:"id"`
	ContentType   string     `json:"ContentType"` // without parameters
	Filename      string     `json:"Filename"`    // from Content-Disposition or Content-Type name=
	Headers       string     `json:"Headers"`     // the part's MIME headers, one a line
	ContentLength flexString `json:"ContentLength"`
}

// partFields are the fields a listing of parts asks for. REST2 5.0.3 answers 500 when Parent
// is among them, so a part's place in the MIME tree is not asked for.
const partFields = "ContentType,Filename,Headers,ContentLength"

// ref is a bare hyperlink item of a collection or a create answer.
type ref struct {
	Kind string     `json:"type"`
	ID   flexString `json:"id"`
}

// page is one page of a REST2 collection.
type page[T any] struct {
	Items []T `json:"items"`
}

// apiError is a non-2xx answer.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// classify applies the connectors' one policy (connectors.ClassifyStatus): a missing ticket
// and a rejected payload are permanent, 401 and 403 are credentials an operator fixes without
// losing messages, 429 and 503 honour Retry-After.
func classify(err *apiError, retryAfter string, now time.Time) error {
	var wait time.Duration
	if retryAfter != "" {
		wait = connectors.ParseRetryAfter(retryAfter, now)
	}
	return connectors.ClassifyStatus(err.Status, wait, err)
}

// isAuth reports whether err is an answer refusing the token.
func isAuth(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden)
}

// do sends one request; body is JSON-encoded unless it is nil. out, when not nil, receives
// the decoded JSON answer.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	_, err := c.doAt(ctx, method, path, query, body, out)
	return err
}

// doAt is do that also returns RT's clock: the Date of the answer, or the zero time when it
// has none. The poller judges the age of transactions by it, not by the gateway's clock.
func (c *client) doAt(ctx context.Context, method, path string, query url.Values, body any, out any) (time.Time, error) {
	rc, at, err := c.send(ctx, method, path, query, body)
	if err != nil {
		return at, err
	}
	defer rc.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, rc)
		return at, nil
	}
	if err := json.NewDecoder(rc).Decode(out); err != nil {
		return at, fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return at, nil
}

// send sends one request as doAt does and returns the body of a 2xx answer, which the caller
// reads and closes, and RT's clock; any other answer is an error (see classify).
func (c *client) send(ctx context.Context, method, path string, query url.Values, body any) (io.ReadCloser, time.Time, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, time.Time{}, connectors.RedactURLError(err)
	}
	req.Header.Set("Authorization", "token "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// It names the URL, whose query or user information may hold a credential.
		return nil, time.Time{}, connectors.RedactURLError(err)
	}
	at, _ := http.ParseTime(resp.Header.Get("Date"))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, at, classify(&apiError{Method: method, Path: path, Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}, resp.Header.Get("Retry-After"), time.Now())
	}
	return resp.Body, at, nil
}

// perPage is REST2's largest page.
const perPage = 100

// collect pages through a collection until an empty page: REST2 5.0.3 filters items by
// permission after paging, so a short page does not mean the last one.
func collect[T any](ctx context.Context, c *client, method, path string, query url.Values, body any) ([]T, error) {
	var all []T
	for n := 1; ; n++ {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(perPage))
		var p page[T]
		if err := c.do(ctx, method, path, q, body, &p); err != nil {
			return all, err
		}
		if len(p.Items) == 0 {
			return all, nil
		}
		all = append(all, p.Items...)
	}
}

// createTicket creates a ticket and returns its id.
func (c *client) createTicket(ctx context.Context, fields map[string]any) (int, error) {
	var created ref
	if err := c.do(ctx, http.MethodPost, "/ticket", nil, fields, &created); err != nil {
		return 0, err
	}
	id := created.ID.int()
	if id <= 0 {
		return 0, fmt.Errorf("create answered no ticket id (%q)", created.ID)
	}
	return id, nil
}

// correspond adds a reply to the ticket. REST2 does not answer its transaction id.
func (c *client) correspond(ctx context.Context, ticket int, fields map[string]any) error {
	return c.do(ctx, http.MethodPost, fmt.Sprintf("/ticket/%d/correspond", ticket), nil, fields, nil)
}

// comment adds an internal comment to the ticket: RT mails it to no requestor.
func (c *client) comment(ctx context.Context, ticket int, fields map[string]any) error {
	return c.do(ctx, http.MethodPost, fmt.Sprintf("/ticket/%d/comment", ticket), nil, fields, nil)
}

// updateTicket sets fields of a ticket. REST2 answers 200 with one message per field even
// when RT refused the change; "Permission Denied" is caught here, other refusals (in the
// user's language) only by reading the ticket back, as setPriority does.
func (c *client) updateTicket(ctx context.Context, ticket int, fields map[string]any) error {
	var msgs []string
	if err := c.do(ctx, http.MethodPut, fmt.Sprintf("/ticket/%d", ticket), nil, fields, &msgs); err != nil {
		return err
	}
	for _, m := range msgs {
		if strings.Contains(strings.ToLower(m), "permission denied") {
			return fmt.Errorf("PUT /ticket/%d: RT refused: %s", ticket, m)
		}
	}
	return nil
}

// setPriority sets a ticket's priority and reads it back, since RT answers 200 also when it
// refused the change.
func (c *client) setPriority(ctx context.Context, ticket, p int) error {
	if err := c.updateTicket(ctx, ticket, map[string]any{"Priority": p}); err != nil {
		return err
	}
	var t struct {
		Priority flexString `json:"Priority"`
	}
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/ticket/%d", ticket), nil, nil, &t); err != nil {
		return err
	}
	if got := t.Priority.int(); got != p {
		return fmt.Errorf("PUT /ticket/%d: RT kept priority %d instead of %d", ticket, got, p)
	}
	return nil
}

// user returns the RT user with the numeric id, as an Owner transaction names it.
func (c *client) user(ctx context.Context, id int) (user, error) {
	return c.userAt(ctx, strconv.Itoa(id))
}

// userNamed returns the RT user with the name.
func (c *client) userNamed(ctx context.Context, name string) (user, error) {
	return c.userAt(ctx, url.PathEscape(name))
}

func (c *client) userAt(ctx context.Context, ref string) (user, error) {
	var u user
	err := c.do(ctx, http.MethodGet, "/user/"+ref, nil, nil, &u)
	return u, err
}

// searchTickets returns the ids of the tickets matching TicketSQL, newest first.
func (c *client) searchTickets(ctx context.Context, query string) ([]int, error) {
	refs, err := collect[ref](ctx, c, http.MethodGet, "/tickets", url.Values{"query": {query}, "orderby": {"id"}, "order": {"DESC"}}, nil)
	ids := make([]int, 0, len(refs))
	for _, r := range refs {
		ids = append(ids, r.ID.int())
	}
	return ids, err
}

// txnFields are the transaction fields the poller and the history look-up need.
var txnFields = url.Values{
	"fields":          {"Type,Creator,Created,Field,OldValue,NewValue,ObjectId"},
	"fields[Creator]": {"Name,RealName,EmailAddress"},
	"orderby":         {"id"},
	"order":           {"ASC"},
}

// transactions lists a ticket's transactions with an id above after, oldest first; a
// non-empty typ keeps only that type.
func (c *client) transactions(ctx context.Context, ticket, after int, typ string) ([]txn, error) {
	filter := []map[string]any{
		{"field": "ObjectType", "value": "RT::Ticket"},
		{"field": "ObjectId", "value": ticket},
		{"field": "id", "operator": ">", "value": after},
	}
	if typ != "" {
		filter = append(filter, map[string]any{"field": "Type", "value": typ})
	}
	return collect[txn](ctx, c, http.MethodPost, "/transactions", txnFields, filter)
}

// searchTransactions returns the first page of the transactions matching TransactionSQL,
// oldest first, and RT's clock at the answer. One page at a time: the caller moves its
// cursor past what it handled and asks again, so paging never skips what commits meanwhile.
func (c *client) searchTransactions(ctx context.Context, query string) ([]txn, time.Time, error) {
	q := url.Values{"query": {query}, "page": {"1"}, "per_page": {strconv.Itoa(perPage)}}
	for k, v := range txnFields {
		q[k] = v
	}
	var p page[txn]
	at, err := c.doAt(ctx, http.MethodGet, "/transactions", q, nil, &p)
	return p.Items, at, err
}

// lastTransaction returns the id of the newest transaction matching TransactionSQL that the
// gateway may see, or 0.
//
// RT pages first and drops what the user may not see afterwards, so a page can come back
// empty with more behind it. The newest transaction of a ticket is often the record of the
// mail RT sent about it (EmailRecord, by RT_System), which needs ShowOutgoingEmail: asking
// for one row then answered none, and the poller replayed every ticket's history. Those
// records are left out, and a page holds enough rows that a few others hidden do not empty it.
func (c *client) lastTransaction(ctx context.Context, query string) (int, error) {
	q := url.Values{"query": {"(" + query + ") AND Type != 'EmailRecord' AND Type != 'CommentEmailRecord'"},
		"fields": {"Type"}, "orderby": {"id"}, "order": {"DESC"}, "per_page": {"20"}}
	var p page[ref]
	if err := c.do(ctx, http.MethodGet, "/transactions", q, nil, &p); err != nil {
		return 0, err
	}
	last := 0
	for _, r := range p.Items {
		last = max(last, r.ID.int())
	}
	return last, nil
}

// txnText returns the text/plain body of a transaction: its first text/plain part that is
// not a file.
func (c *client) txnText(ctx context.Context, id int) (string, error) {
	text, _, err := c.txnContent(ctx, id)
	return text, err
}

// txnContent returns the text/plain body of a transaction and its file parts (see isFile),
// from one listing of its parts. Collections list parts without content; GET /attachment/:id
// returns it in base64 (see contentOf).
func (c *client) txnContent(ctx context.Context, id int) (text string, files []attachment, err error) {
	parts, err := collect[attachment](ctx, c, http.MethodGet, fmt.Sprintf("/transaction/%d/attachments", id),
		url.Values{"fields": {partFields}}, nil)
	if err != nil {
		return "", nil, err
	}
	// RT's web editor writes rich text: a reply typed there has a text/html body and no
	// text/plain one, and chat apps show plain text.
	var plain, rich *attachment
	for i, p := range parts {
		typ := strings.ToLower(p.ContentType)
		switch {
		case isFile(p):
			files = append(files, p)
		case plain == nil && strings.HasPrefix(typ, "text/plain"):
			plain = &parts[i]
		case rich == nil && strings.HasPrefix(typ, "text/html"):
			rich = &parts[i]
		}
	}
	body := cmp.Or(plain, rich)
	if body == nil {
		return "", files, nil
	}
	if text, err = c.attachmentText(ctx, body.ID.int()); err != nil {
		return "", nil, err
	}
	if body == rich {
		text = htmltext.Text(text)
	}
	return text, files, nil
}

// attachmentText returns the decoded content of one part whole: a message body.
func (c *client) attachmentText(ctx context.Context, id int) (string, error) {
	content, err := c.attachmentContent(ctx, id)
	if err != nil {
		return "", err
	}
	defer content.Close()
	b, err := io.ReadAll(content)
	if err != nil {
		return "", fmt.Errorf("read GET /attachment/%d: %w", id, err)
	}
	return string(b), nil
}

// attachmentContent returns the decoded content of one part as it arrives, so a file need not
// be held in memory (see contentOf). The caller closes it.
func (c *client) attachmentContent(ctx context.Context, id int) (io.ReadCloser, error) {
	path := fmt.Sprintf("/attachment/%d", id)
	rc, _, err := c.send(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	content, err := contentOf(rc)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("decode GET %s: %w", path, err)
	}
	return &answer{Reader: content, body: rc}, nil
}

// answer is the content of an answer, closed with the answer.
type answer struct {
	io.Reader
	body io.ReadCloser
}

// answerTail is the most of an answer Close reads past the content: the keys RT puts after
// Content are short, and reading them to the end lets the connection serve the next request,
// while the rest of a file the blob store refused is not worth reading.
const answerTail = 16 << 10

func (a *answer) Close() error {
	_, _ = io.CopyN(io.Discard, a.body, answerTail)
	return a.body.Close()
}

// ticketRequestors returns the e-mail addresses of a ticket's requestors, lower-cased.
func (c *client) ticketRequestors(ctx context.Context, ticket int) ([]string, error) {
	var t struct {
		Kind      string `json:"type"`
		Requestor []ref  `json:"Requestor"`
	}
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/ticket/%d", ticket), nil, nil, &t); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(t.Requestor))
	for _, r := range t.Requestor {
		out = append(out, strings.ToLower(string(r.ID)))
	}
	return out, nil
}
