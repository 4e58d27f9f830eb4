package taskdef

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzValidate decodes arbitrary request bodies and checks that Validate and
// Build never panic, never modify their input, and that a built definition,
// registered again as DescribeTaskDefinition returned it (as deploy tools do),
// is accepted and describes the same.
func FuzzValidate(f *testing.F) {
	// More seeds live in testdata/fuzz/FuzzValidate.
	f.Add([]byte(doc("", app)))
	f.Add([]byte(doc(fargate, `{"name":"app","image":"nginx","portMappings":[{"containerPort":80}]}`)))
	f.Add([]byte(fullDefinition))

	at := time.Unix(1781152775, 522_000_000)
	f.Fuzz(func(t *testing.T, body []byte) {
		var in RegisterInput
		if err := json.Unmarshal(body, &in); err != nil {
			return
		}
		before, err := json.Marshal(&in)
		if err != nil {
			t.Fatalf("json.Marshal(input): %v", err)
		}
		verr := Validate(&in)
		td := Build(&in, "arn:aws:ecs:us-east-1:123456789012:task-definition/f:1", 1, at, "me")
		after, _ := json.Marshal(&in)
		if !bytes.Equal(before, after) {
			t.Fatalf("Validate/Build modified the input:\nbefore %s\nafter  %s", before, after)
		}
		described, err := json.Marshal(td)
		if err != nil {
			t.Fatalf("json.Marshal(Build(%s)): %v", body, err)
		}
		if verr != nil {
			var e *Error
			if !errors.As(verr, &e) || e.Code == "" || e.Message == "" {
				t.Fatalf("Validate(%s) = %#v; want a *Error with code and message", body, verr)
			}
			return
		}

		var again RegisterInput
		if err := json.Unmarshal(described, &again); err != nil {
			t.Fatalf("decode(Build(%s)): %v", body, err)
		}
		if err := Validate(&again); err != nil {
			t.Fatalf("Validate(described %s) = %v; want nil (input %s)", described, err, body)
		}
		redescribed, _ := json.Marshal(Build(&again, "arn:aws:ecs:us-east-1:123456789012:task-definition/f:1", 1, at, "me"))
		if !bytes.Equal(described, redescribed) {
			t.Fatalf("registering the described definition again changed it:\nfirst  %s\nsecond %s", described, redescribed)
		}
	})
}
