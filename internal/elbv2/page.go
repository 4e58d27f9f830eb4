package elbv2

import "github.com/berthhq/berth/internal/awsapi"

// maxPageSize is the largest PageSize the Describe operations take, and
// their default.
const maxPageSize = 400

var encodeMarker = awsapi.PageToken

// decodeMarker returns the key a Marker continues after; "" for none.
func decodeMarker(m *string) (string, error) {
	after, ok := awsapi.PageAfter(m)
	if !ok {
		return "", validationError("The marker '%s' is not valid.", clip(*m, 64))
	}
	return after, nil
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
