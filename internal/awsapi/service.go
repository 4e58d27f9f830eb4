package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/berthhq/berth/internal/awsquery"
)

// JSONService is an API spoken in awsJson 1.0 or 1.1.
type JSONService struct {
	// SigningName is the SigV4 service name, e.g. "ecs".
	SigningName string
	// TargetPrefix is the part of X-Amz-Target before the dot, e.g.
	// "AmazonEC2ContainerServiceV20141113".
	TargetPrefix string
	// JSONVersion is "1.0" or "1.1".
	JSONVersion string
	// Namespace is the Smithy namespace of the error shapes, used for the
	// absolute shape IDs awsJson 1.0 sends, e.g. "com.amazonaws.cloudwatch".
	Namespace string
	// Ops maps operation names to their handlers.
	Ops map[string]JSONHandler
	// MapError translates an error an operation returned that is not an
	// *Error into one (typically from errdefs classes). Nil, or a nil result,
	// makes it a 500 ServerException-style error.
	MapError func(error) *Error
	// ServerErrorCode is the code of unclassified failures, e.g. "ServerException".
	ServerErrorCode string
}

// JSONHandler runs one operation on a raw request body.
type JSONHandler func(ctx context.Context, body []byte) (any, error)

// JSON adapts a typed operation to a JSONHandler: it decodes the body into
// In (an empty body is an empty object) and returns fn's output for encoding.
// A body that is not valid JSON for In is a SerializationException.
func JSON[In, Out any](fn func(context.Context, *In) (*Out, error)) JSONHandler {
	return func(ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if err := decodeJSON(body, in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

func decodeJSON(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	// Unmarshal (not a Decoder) reads the body already in memory without
	// another buffer, and refuses anything after the value.
	if err := json.Unmarshal(body, v); err != nil {
		return serializationError(err)
	}
	return nil
}

// serializationError phrases a JSON decoding failure the way AWS's JSON
// services do.
func serializationError(err error) *Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		var msg string
		switch te.Value {
		case "object":
			msg = "Start of structure or map found where not expected."
		case "array":
			msg = "Start of list found where not expected"
		case "string":
			msg = "STRING_VALUE can not be converted to " + wireTypeName(te.Type.String())
		case "number":
			msg = "NUMBER_VALUE can not be converted to " + wireTypeName(te.Type.String())
		case "bool":
			msg = "TRUE_VALUE/FALSE_VALUE can not be converted to " + wireTypeName(te.Type.String())
		default:
			if strings.HasPrefix(te.Value, "number ") {
				msg = fmt.Sprintf("Value %s can not be converted to %s", strings.TrimPrefix(te.Value, "number "), wireTypeName(te.Type.String()))
			} else {
				msg = "Unexpected value for " + te.Field
			}
		}
		if te.Field != "" {
			msg += " (member " + te.Field + ")"
		}
		return &Error{Code: "SerializationException", Message: msg}
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	return &Error{Code: "SerializationException", Message: "The request body is not valid JSON."}
}

func wireTypeName(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "int", "int32", "int64", "int16", "int8", "uint", "uint32", "uint64":
		return "an Integer"
	case "float32", "float64":
		return "a Double"
	case "bool":
		return "a Boolean"
	case "string":
		return "a String"
	case "awsjson.Time":
		return "a Timestamp"
	}
	if strings.HasPrefix(goType, "[]") {
		return "a List"
	}
	if strings.HasPrefix(goType, "map[") {
		return "a Map"
	}
	return "a Structure"
}

// QueryService is an API spoken in awsQuery.
type QueryService struct {
	SigningName string // e.g. "sts"
	Version     string // the API version clients send, e.g. "2011-06-15"
	Namespace   string // the XML namespace of responses
	Ops         map[string]QueryHandler
	MapError    func(error) *Error
	// ServerErrorCode is the code of unclassified failures, e.g. "InternalFailure".
	ServerErrorCode string
}

// QueryHandler runs one operation on decoded form values.
type QueryHandler func(ctx context.Context, form url.Values) (any, error)

// Query adapts a typed operation to a QueryHandler. A form value that does not
// fit In is a ValidationError, as the query APIs report it.
func Query[In, Out any](fn func(context.Context, *In) (*Out, error)) QueryHandler {
	return func(ctx context.Context, form url.Values) (any, error) {
		in := new(In)
		if err := awsquery.Decode(form, in); err != nil {
			var de *awsquery.DecodeError
			if errors.As(err, &de) {
				return nil, &Error{Code: "ValidationError", Message: de.Message}
			}
			return nil, &Error{Code: "ValidationError", Message: err.Error()}
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}
