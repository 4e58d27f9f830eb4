package ssm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
)

// Limits of parameter names (the PSParameterName shape and the Parameter
// Store name rules).
const (
	maxNameLen   = 2048
	maxLevels    = 15
	defaultKeyID = "alias/aws/ssm"
)

// Messages Parameter Store gives for names it refuses.
const (
	msgNamePrefix = `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive).`
	// AWS gives this one for every malformed hierarchical name, including
	// one without its leading slash.
	msgNameInvalid = `Parameter name: can't be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_`
	msgPathInvalid = `The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash "/". It can't be prefixed with "aws" or "ssm" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.`
	msgLevels      = "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and constraints for parameter names in the Amazon Web Services Systems Manager User Guide."
)

func validationErr(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "ValidationException", Message: fmt.Sprintf(format, args...)}
}

// nameChar reports whether c may appear in a level of a parameter name.
func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// canonical returns the key a name is stored under: a root-level name
// written with its leading slash ("/db") is the same parameter as the one
// without ("db"), as their ARNs are the same.
func canonical(name string) string {
	if strings.HasPrefix(name, "/") && strings.Count(name, "/") == 1 {
		return name[1:]
	}
	return name
}

// wellFormed reports whether name has the shape of a parameter name: one
// level of name characters, or levels each introduced by a slash.
func wellFormed(name string) bool {
	if name == "" {
		return false
	}
	if strings.Contains(name, "/") {
		if name[0] != '/' {
			return false
		}
		for level := range strings.SplitSeq(name[1:], "/") {
			if level == "" {
				return false
			}
		}
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '/' && !nameChar(name[i]) {
			return false
		}
	}
	return true
}

// checkNewName validates the name of a parameter being created, as
// PutParameter does, and returns its canonical form.
func checkNewName(raw string) (string, *awsapi.Error) {
	name := strings.TrimSpace(raw)
	if err := nameLength(name); err != nil {
		return "", err
	}
	c := canonical(name)
	first, _, _ := strings.Cut(strings.TrimPrefix(c, "/"), "/")
	hier := strings.Contains(c, "/")
	if lower := strings.ToLower(first); strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm") {
		switch {
		case hier && strings.HasPrefix(lower, "aws") && strings.HasPrefix(name, "/"):
			return "", &awsapi.Error{Code: "AccessDeniedException", Message: fmt.Sprintf("No access to reserved parameter name: %s.", name)}
		case hier:
			return "", validationErr("%s", msgNameInvalid)
		default:
			return "", validationErr("%s", msgNamePrefix)
		}
	}
	if !wellFormed(name) {
		return "", validationErr("%s", msgNameInvalid)
	}
	if strings.Count(c, "/") > maxLevels {
		return "", &awsapi.Error{Code: "HierarchyLevelLimitExceededException", Message: msgLevels}
	}
	return c, nil
}

// nameLength checks the model's length constraint of a name.
func nameLength(name string) *awsapi.Error {
	var v validator
	v.length("name", name, 1, maxNameLen, false)
	return v.err()
}

// ref is a reference to a parameter or one of its versions, as the read
// operations take it: a name or ARN, optionally followed by ":version" or
// ":label".
type ref struct {
	// display is the name the response reports: the reference as given,
	// without its selector.
	display string
	// name is the canonical name.
	name string
	// version and label select a version; at most one is set.
	version int64
	label   string
	// foreign is set for an ARN of another account or region: no parameter
	// of this caller.
	foreign bool
	// arnAccount and arnRegion are those of an ARN reference.
	arnAccount, arnRegion string
}

// selector renders the selector of r as responses report it (":3", ":prod"),
// or "".
func (r ref) selector() string {
	switch {
	case r.version != 0:
		return ":" + strconv.FormatInt(r.version, 10)
	case r.label != "":
		return ":" + r.label
	}
	return ""
}

// parseRef reads a parameter reference of the caller in account and region.
// A reference that cannot name any parameter is an error; one that names
// nothing of this caller is not.
func parseRef(raw, account, region string) (ref, *awsapi.Error) {
	s := strings.TrimSpace(raw)
	if err := nameLength(s); err != nil {
		return ref{}, err
	}
	var r ref
	if rest, ok := strings.CutPrefix(s, "arn:"); ok {
		// arn:<partition>:ssm:<region>:<account>:parameter/<name>[:selector]
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) != 5 || parts[1] != "ssm" || !strings.HasPrefix(parts[4], "parameter/") {
			return ref{}, validationErr("Invalid parameter ARN %s.", s)
		}
		r.arnRegion, r.arnAccount = parts[2], parts[3]
		r.foreign = parts[2] != region || parts[3] != account
		name, sel, hasSel := strings.Cut(strings.TrimPrefix(parts[4], "parameter/"), ":")
		if strings.Contains(name, "/") {
			name = "/" + name
		}
		r.name, r.display = name, s
		if hasSel {
			r.display = strings.TrimSuffix(s, ":"+sel)
			if err := r.parseSelector(sel); err != nil {
				return ref{}, err
			}
		}
	} else {
		name, sel, hasSel := strings.Cut(s, ":")
		r.name, r.display = name, name
		if hasSel {
			if err := r.parseSelector(sel); err != nil {
				return ref{}, err
			}
		}
	}
	// A name no parameter can have is refused, as AWS does, rather than
	// not found.
	if !wellFormed(r.name) {
		return ref{}, validationErr("%s", msgNameInvalid)
	}
	r.name = canonical(r.name)
	return r, nil
}

func (r *ref) parseSelector(sel string) *awsapi.Error {
	if sel == "" || strings.Contains(sel, ":") {
		return validationErr("Invalid parameter name or selector. A selector is \":<version>\" or \":<label>\".")
	}
	if sel[0] >= '0' && sel[0] <= '9' {
		v, err := strconv.ParseInt(sel, 10, 64)
		if err != nil || v < 1 {
			return validationErr("Invalid parameter version %s. A version is a positive number.", sel)
		}
		r.version = v
		return nil
	}
	r.label = sel
	return nil
}

// checkPath validates the Path of GetParametersByPath and returns it without
// a trailing slash ("/" stays "/").
func checkPath(raw string) (string, *awsapi.Error) {
	p := strings.TrimSpace(raw)
	if err := nameLength(p); err != nil {
		return "", err
	}
	if p == "/" {
		return p, nil
	}
	p = strings.TrimSuffix(p, "/")
	if !strings.HasPrefix(p, "/") || !wellFormed(p) {
		return "", validationErr("%s", msgPathInvalid)
	}
	if strings.Count(p, "/") > maxLevels {
		return "", &awsapi.Error{Code: "HierarchyLevelLimitExceededException", Message: msgLevels}
	}
	return p, nil
}

// checkLabel reports whether label is a valid parameter label: letters,
// digits, ".", "-" and "_", not starting with a digit, "aws" or "ssm".
func checkLabel(label string) bool {
	if label == "" || len(label) > 100 || label[0] >= '0' && label[0] <= '9' {
		return false
	}
	if lower := strings.ToLower(label); strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm") {
		return false
	}
	for i := 0; i < len(label); i++ {
		if !nameChar(label[i]) {
			return false
		}
	}
	return true
}

// arnOf is the ARN of a parameter: the name without its leading slash after
// "parameter/".
func arnOf(region, account, name string) string {
	return "arn:aws:ssm:" + region + ":" + account + ":parameter/" + strings.TrimPrefix(name, "/")
}

// sealAAD is the associated data a SecureString version is sealed with: it
// binds the value to its parameter and version.
func sealAAD(arn string, version int64) []byte {
	return []byte(arn + "\x00" + strconv.FormatInt(version, 10))
}
