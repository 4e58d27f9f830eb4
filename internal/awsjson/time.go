// Package awsjson holds the wire helpers of the awsJson 1.0/1.1 protocols that
// API packages share: timestamps as epoch seconds and strict request decoding.
package awsjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Time is a timestamp that travels as epoch seconds (a JSON number, possibly
// fractional), as every awsJson protocol encodes timestamps.
type Time struct{ time.Time }

// At wraps t, truncated to milliseconds as AWS reports them.
func At(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// Ptr returns a pointer to At(t), for optional members.
func Ptr(t time.Time) *Time { v := At(t); return &v }

// MarshalJSON writes epoch seconds with millisecond precision.
func (t Time) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.AppendInt(nil, ms/1000, 10), nil
	}
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds from a JSON number.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("timestamp %s is not epoch seconds", b)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC()
	return nil
}

var _ json.Marshaler = Time{}
var _ json.Unmarshaler = (*Time)(nil)
