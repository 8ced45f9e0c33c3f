package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// maxNestingDepth bounds the nesting of arrays and objects in a payload. It
// is the limit of encoding/json, so everything the scanner accepts can later
// be decoded.
const maxNestingDepth = 10000

var (
	errSyntax  = errors.New("malformed JSON payload")
	errDepth   = errors.New("JSON payload nested too deeply")
	errBadPH   = errors.New("malformed attachment placeholder")
	errPHRange = errors.New("attachment placeholder out of range")
)

// elemSpan locates one payload element in the payload text; ph0:ph1 are the
// indexes of the placeholders it contains.
type elemSpan struct {
	start, end int
	ph0, ph1   int
}

// placeholderRef is a placeholder object found at text[start:end] that refers
// to attachment num.
type placeholderRef struct {
	start, end int
	num        int
}

// scanner validates one JSON payload in a single iterative pass, recording
// the top-level array elements and (for binary packets) the placeholders.
type scanner struct {
	data   []byte
	binary bool // look for placeholders
	natt   int  // number of attachments announced by the header
	array  bool // the top-level value is an array: record its elements
	elems  []elemSpan
	phs    []placeholderRef
}

// container is an open array or object. Positions are int32 to keep deep
// (hostile) nesting cheap; decodeText rejects larger messages.
//
// In binary packets objects also track what is needed to recognise a
// placeholder, member by member, so that no object is ever parsed twice
// (which would make nested objects quadratic). Duplicate member names follow
// JavaScript: the last one wins.
type container struct {
	start            int32 // position of '{' or '['
	valStart         int32 // start of the current member value
	numStart, numEnd int32 // value of the last "num" member (numEnd == 0: none)
	isObj            bool
	key              memberKind // kind of the current member
	hasPH            bool       // has a "_placeholder" member
	phTrue           bool       // the last "_placeholder" member is true
	other            bool       // has a member other than "_placeholder" and "num"
}

type memberKind byte

const (
	memberOther memberKind = iota
	memberPH
	memberNum
)

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// scan validates s.data as exactly one JSON value surrounded by optional
// whitespace and returns the bounds of that value.
func (s *scanner) scan() (start, end int, err error) {
	data := s.data
	i := skipSpace(data, 0)
	if i == len(data) {
		return 0, 0, errSyntax
	}
	start = i
	s.array = data[i] == '['
	var stackBuf [16]container
	stack := stackBuf[:0]
	elemStart, phMark := 0, 0
	for {
		// A value is expected at i.
		if i >= len(data) {
			return 0, 0, errSyntax
		}
		if s.array && len(stack) == 1 {
			elemStart, phMark = i, len(s.phs)
		}
		c := data[i]
		switch {
		case c == '{' || c == '[':
			if len(stack) >= maxNestingDepth {
				return 0, 0, errDepth
			}
			stack = append(stack, container{start: int32(i), isObj: c == '{'})
			i = skipSpace(data, i+1)
			if i >= len(data) {
				return 0, 0, errSyntax
			}
			if c == '[' {
				if data[i] != ']' {
					continue // first element
				}
			} else if data[i] != '}' {
				if i, err = s.key(i, &stack[len(stack)-1]); err != nil {
					return 0, 0, err
				}
				continue // first member value
			}
			// Empty container.
			stack = stack[:len(stack)-1]
			i++
		case c == '"':
			if i, err = scanString(data, i); err != nil {
				return 0, 0, err
			}
		case c == '-' || isDigit(c):
			if i, err = scanNumber(data, i); err != nil {
				return 0, 0, err
			}
		case c == 't':
			if i, err = scanLiteral(data, i, "true"); err != nil {
				return 0, 0, err
			}
		case c == 'f':
			if i, err = scanLiteral(data, i, "false"); err != nil {
				return 0, 0, err
			}
		case c == 'n':
			if i, err = scanLiteral(data, i, "null"); err != nil {
				return 0, 0, err
			}
		default:
			return 0, 0, errSyntax
		}

		// A value ended at i; close containers until one expects another value.
	afterValue:
		for {
			if s.array && len(stack) == 1 {
				s.elems = append(s.elems, elemSpan{elemStart, i, phMark, len(s.phs)})
			}
			if s.binary && len(stack) > 0 && stack[len(stack)-1].isObj {
				stack[len(stack)-1].member(data, i)
			}
			if len(stack) == 0 {
				end = i
				if skipSpace(data, i) != len(data) {
					return 0, 0, errSyntax
				}
				return start, end, nil
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return 0, 0, errSyntax
			}
			top := &stack[len(stack)-1]
			switch c := data[i]; {
			case c == ',':
				i = skipSpace(data, i+1)
				if top.isObj {
					if i, err = s.key(i, top); err != nil {
						return 0, 0, err
					}
				}
				break afterValue
			case c == '}' && top.isObj:
				i++
				if top.hasPH {
					if err := s.placeholder(top, i); err != nil {
						return 0, 0, err
					}
				}
				stack = stack[:len(stack)-1]
			case c == ']' && !top.isObj:
				i++
				stack = stack[:len(stack)-1]
			default:
				return 0, 0, errSyntax
			}
		}
	}
}

// key scans an object member name and the colon after it, returning the
// position of the member value. In binary packets it notes which kind of
// member this is.
func (s *scanner) key(i int, obj *container) (int, error) {
	if i >= len(s.data) || s.data[i] != '"' {
		return 0, errSyntax
	}
	end, err := scanString(s.data, i)
	if err != nil {
		return 0, err
	}
	if s.binary {
		switch name := s.data[i+1 : end-1]; {
		case isMemberName(name, "_placeholder"):
			obj.key = memberPH
		case isMemberName(name, "num"):
			obj.key = memberNum
		default:
			obj.key = memberOther
		}
	}
	i = skipSpace(s.data, end)
	if i >= len(s.data) || s.data[i] != ':' {
		return 0, errSyntax
	}
	i = skipSpace(s.data, i+1)
	obj.valStart = int32(i)
	return i, nil
}

// member records the member value that ends at end.
func (c *container) member(data []byte, end int) {
	switch c.key {
	case memberPH:
		c.hasPH = true
		c.phTrue = string(data[c.valStart:end]) == "true"
	case memberNum:
		c.numStart, c.numEnd = c.valStart, int32(end)
	default:
		c.other = true
	}
}

// isMemberName reports whether the raw (still escaped) member name is name.
func isMemberName(raw []byte, name string) bool {
	if string(raw) == name {
		return true
	}
	// An escaped form is at most 6 bytes per character.
	if len(raw) <= len(name) || len(raw) > 6*len(name) || bytes.IndexByte(raw, '\\') < 0 {
		return false
	}
	s, ok := unquote(raw)
	return ok && s == name
}

// unquote decodes the contents of a valid JSON string (without its quotes).
func unquote(raw []byte) (string, bool) {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw), true
	}
	q := make([]byte, 0, len(raw)+2)
	q = append(q, '"')
	q = append(q, raw...)
	q = append(q, '"')
	var str string
	if json.Unmarshal(q, &str) != nil {
		return "", false
	}
	return str, true
}

// placeholder examines a closed object (ending at end) that has a member
// named "_placeholder". If that member is true the object must be a
// well-formed placeholder ({"_placeholder":true,"num":N} in any member order,
// N a non-negative integer literal below the attachment count) and is
// recorded; otherwise the object is ordinary data.
func (s *scanner) placeholder(obj *container, end int) error {
	if !obj.phTrue {
		return nil
	}
	if obj.other || obj.numEnd == 0 {
		return errBadPH
	}
	lit := s.data[obj.numStart:obj.numEnd]
	for _, c := range lit {
		if !isDigit(c) {
			return errBadPH
		}
	}
	if len(lit) > 9 {
		return errPHRange
	}
	num := 0
	for _, c := range lit {
		num = num*10 + int(c-'0')
	}
	if num >= s.natt {
		return errPHRange
	}
	s.phs = append(s.phs, placeholderRef{start: int(obj.start), end: end, num: num})
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanString returns the position after the string starting at data[i].
func scanString(data []byte, i int) (int, error) {
	i++
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			i++
			if i >= len(data) {
				return 0, errSyntax
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+4 >= len(data) {
					return 0, errSyntax
				}
				for _, h := range data[i+1 : i+5] {
					if !isHex(h) {
						return 0, errSyntax
					}
				}
				i += 5
			default:
				return 0, errSyntax
			}
		case c < 0x20:
			return 0, errSyntax
		default:
			i++
		}
	}
	return 0, errSyntax
}

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanNumber returns the position after the number starting at data[i].
func scanNumber[T []byte | string](data T, i int) (int, error) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return 0, errSyntax
	case data[i] == '0':
		i++
	case isDigit(data[i]):
		i = skipDigits(data, i+1)
	default:
		return 0, errSyntax
	}
	if i < len(data) && data[i] == '.' {
		j := skipDigits(data, i+1)
		if j == i+1 {
			return 0, errSyntax
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := skipDigits(data, i)
		if j == i {
			return 0, errSyntax
		}
		i = j
	}
	return i, nil
}

func skipDigits[T []byte | string](data T, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}

func scanLiteral(data []byte, i int, lit string) (int, error) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

// isJSONNumber reports whether s is exactly one JSON number.
func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	end, err := scanNumber(s, 0)
	return err == nil && end == len(s)
}
