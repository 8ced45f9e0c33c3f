package parser

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
)

// jsonPayload is the Payload of a packet decoded by the JSON codec. It keeps
// the payload text and decodes elements only on demand.
type jsonPayload struct {
	text   []byte           // the payload text, as received
	elems  []elemSpan       // element bounds in text
	phs    []placeholderRef // placeholders in text order
	atts   [][]byte         // binary attachments
	inline [4]elemSpan      // backing store for elems of small payloads
}

// Len returns the number of elements.
func (p *jsonPayload) Len() int { return len(p.elems) }

func (p *jsonPayload) elem(i int) (elemSpan, error) {
	if uint(i) >= uint(len(p.elems)) {
		return elemSpan{}, fmt.Errorf("%w: %d not in [0,%d)", ErrIndexOutOfRange, i, len(p.elems))
	}
	return p.elems[i], nil
}

// wholeAttachment returns the attachment when element e is exactly one
// placeholder.
func (p *jsonPayload) wholeAttachment(e elemSpan) ([]byte, bool) {
	if e.ph1-e.ph0 == 1 {
		if ph := p.phs[e.ph0]; ph.start == e.start && ph.end == e.end {
			return p.atts[ph.num], true
		}
	}
	return nil, false
}

// Value returns element i as a plain Go value.
func (p *jsonPayload) Value(i int) (any, error) {
	e, err := p.elem(i)
	if err != nil {
		return nil, err
	}
	if b, ok := p.wholeAttachment(e); ok {
		return b, nil
	}
	raw := p.text[e.start:e.end]
	if e.ph0 == e.ph1 {
		if v, ok := scalarValue(raw); ok {
			return v, nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("socket.io: payload element %d: %w", i, err)
	}
	if e.ph0 != e.ph1 {
		v = p.resolve(v)
	}
	return v, nil
}

// scalarValue decodes raw (a valid JSON value) without json.Decoder when it
// is a scalar.
func scalarValue(raw []byte) (any, bool) {
	switch c := raw[0]; {
	case c == '"':
		s, ok := unquote(raw[1 : len(raw)-1])
		return s, ok
	case c == 't':
		return true, true
	case c == 'f':
		return false, true
	case c == 'n':
		return nil, true
	case c == '-' || isDigit(c):
		return json.Number(raw), true
	}
	return nil, false
}

// resolve replaces the placeholder objects in v by their attachments. In a
// binary packet every object whose "_placeholder" member is true has been
// validated as a placeholder by the scanner.
func (p *jsonPayload) resolve(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v["_placeholder"] == true && len(v) == 2 {
			if num, ok := v["num"].(json.Number); ok {
				if n, err := strconv.Atoi(string(num)); err == nil && n >= 0 && n < len(p.atts) {
					return p.atts[n]
				}
			}
		}
		for k, x := range v {
			switch x.(type) {
			case map[string]any, []any:
				v[k] = p.resolve(x)
			}
		}
	case []any:
		for i, x := range v {
			switch x.(type) {
			case map[string]any, []any:
				v[i] = p.resolve(x)
			}
		}
	}
	return v
}

// Decode decodes element i into dst like json.Unmarshal.
func (p *jsonPayload) Decode(i int, dst any) error {
	e, err := p.elem(i)
	if err != nil {
		return err
	}
	var text []byte
	if e.ph0 == e.ph1 {
		text = p.text[e.start:e.end]
		switch d := dst.(type) {
		case *string:
			if d != nil && text[0] == '"' {
				if s, ok := unquote(text[1 : len(text)-1]); ok {
					*d = s
					return nil
				}
			}
		case *json.RawMessage:
			if d != nil {
				*d = append((*d)[:0], text...)
				return nil
			}
		}
	} else {
		if b, ok := p.wholeAttachment(e); ok {
			if d, ok := dst.(*[]byte); ok && d != nil {
				*d = b
				return nil
			}
		}
		text = p.substitute(e)
	}
	if err := json.Unmarshal(text, dst); err != nil {
		return fmt.Errorf("socket.io: payload element %d: %w", i, err)
	}
	return nil
}

// Raw returns element i as JSON text, attachments as base64 strings.
func (p *jsonPayload) Raw(i int) (json.RawMessage, error) {
	e, err := p.elem(i)
	if err != nil {
		return nil, err
	}
	if e.ph0 == e.ph1 {
		return p.text[e.start:e.end:e.end], nil
	}
	return p.substitute(e), nil
}

// substitute returns the text of element e with each placeholder replaced
// by the base64 string of its attachment.
func (p *jsonPayload) substitute(e elemSpan) []byte {
	phs := p.phs[e.ph0:e.ph1]
	n := e.end - e.start
	for _, ph := range phs {
		n += base64.StdEncoding.EncodedLen(len(p.atts[ph.num])) + 2 - (ph.end - ph.start)
	}
	out := make([]byte, 0, n)
	pos := e.start
	for _, ph := range phs {
		out = append(out, p.text[pos:ph.start]...)
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, p.atts[ph.num])
		out = append(out, '"')
		pos = ph.end
	}
	return append(out, p.text[pos:e.end]...)
}

// String returns the payload as JSON text (attachments as base64), for
// logging.
func (p *jsonPayload) String() string {
	var b []byte
	if len(p.phs) == 0 {
		b = p.text
	} else {
		b = p.substitute(elemSpan{start: 0, end: len(p.text), ph0: 0, ph1: len(p.phs)})
	}
	return string(bytes.TrimSpace(b))
}
