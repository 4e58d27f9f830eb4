package elbv2

import (
	"encoding/base64"
	"encoding/json"
)

// maxPageSize is the largest PageSize the Describe operations take, and
// their default.
const maxPageSize = 400

// marker is what a Marker carries: the sort key of the last item returned.
// It is opaque to clients.
type marker struct {
	After string `json:"a"`
}

func encodeMarker(after string) *string {
	b, _ := json.Marshal(marker{After: after})
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

// decodeMarker returns the key a Marker continues after; "" for none.
func decodeMarker(m *string) (string, error) {
	if m == nil || *m == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*m)
	var mk marker
	if err == nil {
		err = json.Unmarshal(b, &mk)
	}
	if err != nil || mk.After == "" {
		return "", validationError("The marker '%s' is not valid.", clip(*m, 64))
	}
	return mk.After, nil
}

// pageArgs checks PageSize (1 to 400, default 400) and Marker.
func pageArgs(pageSize *int32, m *string) (n int, after string, err error) {
	n = maxPageSize
	if pageSize != nil {
		switch v := *pageSize; {
		case v < 1:
			return 0, "", validationError("1 validation error detected: Value '%d' at 'pageSize' failed to satisfy constraint: Member must have value greater than or equal to 1", v)
		case v > maxPageSize:
			return 0, "", validationError("1 validation error detected: Value '%d' at 'pageSize' failed to satisfy constraint: Member must have value less than or equal to %d", v, maxPageSize)
		default:
			n = int(v)
		}
	}
	after, err = decodeMarker(m)
	return n, after, err
}

// paginate returns up to n of items (sorted by key) that come after the
// key after, and the marker that continues after them when more remain.
func paginate[T any](items []T, n int, after string, key func(T) string) ([]T, *string) {
	var out []T
	for _, it := range items {
		if after != "" && key(it) <= after {
			continue
		}
		if len(out) == n {
			return out, encodeMarker(key(out[len(out)-1]))
		}
		out = append(out, it)
	}
	return out, nil
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
