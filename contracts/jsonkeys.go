package contracts

import (
	"bytes"
	"iter"
	"reflect"
	"slices"
	"strings"
)

// fieldNames are the JSON names of Notificacion's fields, read from its tags; fieldIndex maps
// each to its position. Both are read-only.
var (
	fieldNames = jsonNames(reflect.TypeFor[Notificacion]())
	fieldIndex = func() map[string]int {
		m := make(map[string]int, len(fieldNames))
		for i, c := range fieldNames {
			m[c] = i
		}
		return m
	}()
)

func jsonNames(t reflect.Type) []string {
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	if len(names) > 64 {
		panic("contracts: checkKeys tracks at most 64 fields")
	}
	return names
}

// checkKeys refuses the keys of a top-level object that encoding/json would read differently
// from a plain JSON reader, or that readers disagree on. The audit stores the payload byte for
// byte, and what the reconciler applies must be what anyone reading that payload sees:
//
//   - a key given twice ("numero":129,"numero":130): encoding/json keeps the last value, other
//     readers the first;
//   - a key that is not a field's name but matches it under Unicode case folding ("NUMERO",
//     "ſerie"): encoding/json takes it for that field, a plain reader does not.
//
// Other unknown keys stay ignored (NubeFacT adds fields over time), but the audit stores them
// too: with maxUnknown > 0, the unknown members may take at most that many bytes in all, each
// counted as sent from its key's opening quote to the end of its value (an
// *UnknownTooLargeError otherwise).
//
// data must be a valid JSON object in UTF-8 (Decode has checked both): this is a skimming pass
// over the top level, not a parser, and it only looks at the keys.
func checkKeys(data []byte, maxUnknown int) error {
	var seen uint64      // bit i: fieldNames[i] seen
	var unknown [][]byte // keys of no field, to find their duplicates at the end
	unknownSize := 0
	for key, member := range topLevelKeys(data) {
		if k, ok := fieldIndex[string(key)]; ok {
			if seen&(1<<k) != 0 {
				return &FieldError{fieldNames[k], "appears more than once; send each field once"}
			}
			seen |= 1 << k
			continue
		}
		for _, c := range fieldNames {
			if bytes.EqualFold(key, []byte(c)) {
				return &FieldError{string(key), "differs from " + c + " only in letter case; send " + c}
			}
		}
		unknown = append(unknown, key)
		unknownSize += len(member)
	}
	if len(unknown) > 1 {
		slices.SortFunc(unknown, bytes.Compare)
		for j := 1; j < len(unknown); j++ {
			if bytes.Equal(unknown[j-1], unknown[j]) {
				if len(unknown[j]) == 0 {
					return &FieldError{"body", `the key "" appears more than once`}
				}
				return &FieldError{string(unknown[j]), "appears more than once; send each field once"}
			}
		}
	}
	if maxUnknown > 0 && unknownSize > maxUnknown {
		return &UnknownTooLargeError{Size: unknownSize, Max: maxUnknown}
	}
	return nil
}

// topLevelKeys yields the keys of the object in data, unescaped, in order, each with its
// member as sent: from the key's opening quote to the end of its value. data must be a valid
// JSON object in UTF-8: this skims, it does not parse.
func topLevelKeys(data []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(key, member []byte) bool) {
		i := skipSpace(data, 0)
		i = skipSpace(data, i+1) // past '{'
		for i < len(data) && data[i] == '"' {
			start := i
			end := endOfString(data, i)
			key := data[i+1 : end-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				// "\u006eumero" is "numero" to every reader.
				s, _ := unquote(data[i:end])
				key = []byte(s)
			}
			i = skipSpace(data, end) // at ':'
			i = skipSpace(data, i+1) // at the value
			i = skipValue(data, i)   // past it
			if !yield(key, data[start:i]) {
				return
			}
			i = skipSpace(data, i) // at ',' or '}'
			if i < len(data) && data[i] == ',' {
				i = skipSpace(data, i+1)
			}
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index just past the string literal that starts at data[i].
func endOfString(data []byte, i int) int {
	for j := i + 1; j < len(data); {
		k := bytes.IndexByte(data[j:], '"')
		if k < 0 {
			break
		}
		j += k
		// The quote is escaped if an odd number of backslashes precede it.
		n := 0
		for data[j-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
	return len(data)
}

// skipValue returns the index just past the value that starts at data[i].
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return endOfString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = endOfString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	// A number, true, false or null: it ends where the object goes on.
	for i < len(data) {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}
