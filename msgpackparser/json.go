package msgpackparser

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// This file converts between JSON text and MessagePack: JSON to MessagePack
// for json.RawMessage and json.Marshaler values being encoded, and the JSON
// formatting of numbers and strings used by Payload.Raw.

var (
	errJSONSyntax = errors.New("malformed JSON")
	errJSONDepth  = errors.New("JSON nested too deeply")
	errNumber     = errors.New("invalid number")
)

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipJSONSpace(src []byte, i int) int {
	for i < len(src) && isJSONSpace(src[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// jsonContainer is an open JSON array or object being transcoded: its
// MessagePack header, 5 bytes reserved at pos, is written when it closes.
type jsonContainer struct {
	pos   int
	count int
	isObj bool
}

// appendJSON appends the MessagePack encoding of the JSON text src (one
// value, optionally surrounded by white space), preserving the order of
// object members. Numbers become integers when written as integers that fit
// in 64 bits, floats otherwise. Containers may nest maxDepth deep.
func appendJSON(b, src []byte, maxDepth int) ([]byte, error) {
	var stackBuf [16]jsonContainer
	stack := stackBuf[:0]
	i := skipJSONSpace(src, 0)
	var err error
	for {
		// A value is expected at i.
		if i >= len(src) {
			return nil, errJSONSyntax
		}
		switch c := src[i]; {
		case c == '{' || c == '[':
			if len(stack) >= maxDepth {
				return nil, errJSONDepth
			}
			stack = append(stack, jsonContainer{pos: len(b), isObj: c == '{'})
			b = append(b, 0, 0, 0, 0, 0)
			i = skipJSONSpace(src, i+1)
			if i >= len(src) {
				return nil, errJSONSyntax
			}
			if src[i] == c+2 { // ']' is '['+2, '}' is '{'+2
				i++
				stack = stack[:len(stack)-1]
				b = patchHeader(b, len(b)-5, 5, 0, c == '{')
				break
			}
			if c == '{' {
				if b, i, err = appendJSONKey(b, src, i); err != nil {
					return nil, err
				}
			}
			continue
		case c == '"':
			if b, i, err = appendJSONString(b, src, i); err != nil {
				return nil, err
			}
		case c == '-' || isDigit(c):
			end, ok := scanNumber(src, i)
			if !ok {
				return nil, errJSONSyntax
			}
			if b, err = appendNumber(b, string(src[i:end])); err != nil {
				return nil, err
			}
			i = end
		case c == 't' && hasLiteral(src, i, "true"):
			b, i = append(b, mpTrue), i+4
		case c == 'f' && hasLiteral(src, i, "false"):
			b, i = append(b, mpFalse), i+5
		case c == 'n' && hasLiteral(src, i, "null"):
			b, i = append(b, mpNil), i+4
		default:
			return nil, errJSONSyntax
		}

		// A value ended at i: close containers until one expects another.
	afterValue:
		for {
			if len(stack) == 0 {
				if skipJSONSpace(src, i) != len(src) {
					return nil, errJSONSyntax
				}
				return b, nil
			}
			top := &stack[len(stack)-1]
			top.count++
			i = skipJSONSpace(src, i)
			if i >= len(src) {
				return nil, errJSONSyntax
			}
			switch c := src[i]; {
			case c == ',':
				i = skipJSONSpace(src, i+1)
				if top.isObj {
					if b, i, err = appendJSONKey(b, src, i); err != nil {
						return nil, err
					}
				}
				break afterValue
			case c == '}' && top.isObj, c == ']' && !top.isObj:
				i++
				if !fitsLength(top.count) {
					return nil, errLength
				}
				b = patchHeader(b, top.pos, 5, top.count, top.isObj)
				stack = stack[:len(stack)-1]
			default:
				return nil, errJSONSyntax
			}
		}
	}
}

// appendJSONKey transcodes an object member name and skips the colon after
// it, returning the position of the member value.
func appendJSONKey(b, src []byte, i int) ([]byte, int, error) {
	if i >= len(src) || src[i] != '"' {
		return nil, 0, errJSONSyntax
	}
	b, i, err := appendJSONString(b, src, i)
	if err != nil {
		return nil, 0, err
	}
	i = skipJSONSpace(src, i)
	if i >= len(src) || src[i] != ':' {
		return nil, 0, errJSONSyntax
	}
	return b, skipJSONSpace(src, i+1), nil
}

// appendJSONString transcodes the JSON string starting at src[i] and returns
// the position after it.
func appendJSONString(b, src []byte, i int) ([]byte, int, error) {
	start := i + 1
	escaped := false
	for i = start; i < len(src); i++ {
		switch c := src[i]; {
		case c == '"':
			raw := src[start:i]
			if !escaped && utf8.Valid(raw) {
				if !fitsLength(len(raw)) {
					return nil, 0, errLength
				}
				b = appendStrHeader(b, len(raw))
				return append(b, raw...), i + 1, nil
			}
			// Escapes and invalid UTF-8 (which becomes U+FFFD) are
			// resolved by encoding/json.
			var s string
			if err := json.Unmarshal(src[start-1:i+1], &s); err != nil {
				return nil, 0, errJSONSyntax
			}
			if !fitsLength(len(s)) {
				return nil, 0, errLength
			}
			b = appendStrHeader(b, len(s))
			return append(b, s...), i + 1, nil
		case c == '\\':
			escaped = true
			i++ // the escaped character cannot end the string
		case c < 0x20:
			return nil, 0, errJSONSyntax
		}
	}
	return nil, 0, errJSONSyntax
}

func hasLiteral(src []byte, i int, lit string) bool {
	return len(src)-i >= len(lit) && string(src[i:i+len(lit)]) == lit
}

// scanNumber returns the end of the JSON number starting at s[i].
func scanNumber[T []byte | string](s T, i int) (int, bool) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return 0, false
	case s[i] == '0':
		i++
	case isDigit(s[i]):
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	default:
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

// appendNumber appends the JSON number lit (already validated) as an
// integer when it is written as one and fits in 64 bits, as a float64
// otherwise.
func appendNumber(b []byte, lit string) ([]byte, error) {
	integer := true
	for i := 0; i < len(lit); i++ {
		if c := lit[i]; c == '.' || c == 'e' || c == 'E' {
			integer = false
			break
		}
	}
	if integer {
		if lit[0] == '-' {
			if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
				return appendInt(b, v), nil
			}
		} else if v, err := strconv.ParseUint(lit, 10, 64); err == nil {
			return appendUint(b, v), nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return nil, errNumber // out of the float64 range
	}
	return appendFloat(b, f), nil
}

// appendJSONNumber appends a json.Number, validating it as encoding/json
// does ("" is 0).
func appendJSONNumber(b []byte, n json.Number) ([]byte, error) {
	if n == "" {
		return append(b, 0), nil
	}
	if end, ok := scanNumber(string(n), 0); !ok || end != len(n) {
		return nil, errNumber
	}
	return appendNumber(b, string(n))
}

// formatFloat appends f formatted as JavaScript (and encoding/json) write
// numbers. f must be finite.
func formatFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// toValidUTF8 appends b to dst with each invalid UTF-8 byte replaced by
// U+FFFD, as encoding/json does (Node's Buffer.toString replaces invalid
// sequences likewise).
func toValidUTF8(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, b[i:i+size]...)
		}
		i += size
	}
	return dst
}

// bytesString returns b as a string, invalid UTF-8 bytes replaced by U+FFFD.
func bytesString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(toValidUTF8(make([]byte, 0, len(b)+8), b))
}
