package sigv4

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// suiteDir is the AWS SigV4 test suite (awslabs/aws-c-auth
// tests/aws-signing-test-suite/v4), shared with the other Berth packages.
const suiteDir = "../../../shared/testdata/sigv4"

type suiteContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	ExpirationInSeconds int    `json:"expiration_in_seconds"`
	Normalize           bool   `json:"normalize"`
	Region              string `json:"region"`
	Service             string `json:"service"`
	SignBody            bool   `json:"sign_body"`
	Timestamp           string `json:"timestamp"`
	OmitSessionToken    bool   `json:"omit_session_token"`
}

func suiteCases(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(suiteDir)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("AWS SigV4 suite not found at %s: %v", suiteDir, err)
		}
		t.Skipf("AWS SigV4 suite not found at %s (%v); it is required when CI=true", suiteDir, err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatalf("no cases in %s", suiteDir)
	}
	return names
}

func readCaseFile(t *testing.T, name, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(suiteDir, name, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAWSSuite runs every case of the AWS suite three ways: the canonical
// request and string to sign against the published ones, the header-signed
// request through Verify, and the presigned request through Verify.
func TestAWSSuite(t *testing.T) {
	names := suiteCases(t)
	var headerOK, queryOK, queryRejected int
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			var sc suiteContext
			if err := json.Unmarshal([]byte(readCaseFile(t, name, "context.json")), &sc); err != nil {
				t.Fatalf("context.json: %v", err)
			}
			if sc.Credentials.AccessKeyID != exampleKeyID || sc.Region != "us-east-1" || sc.Service != "service" || sc.Timestamp != "2015-08-30T12:36:00Z" {
				t.Fatalf("unexpected context %+v", sc)
			}
			creds := Credentials{
				AccessKeyID:     sc.Credentials.AccessKeyID,
				SecretAccessKey: sc.Credentials.SecretAccessKey,
				SessionToken:    sc.Credentials.Token,
				Account:         "000000000000",
			}
			v := &Verifier{Lookup: staticLookup(creds), Now: fixedClock(suiteTime)}

			for _, form := range []string{"header", "query"} {
				r, body := parseRawRequest(t, []byte(readCaseFile(t, name, form+"-signed-request.txt")))
				dropToken := form == "query" && sc.OmitSessionToken

				creq, sts, err := canonicalForm(r, body, sc.Normalize, dropToken)
				if err != nil {
					t.Fatalf("%s: canonicalForm: %v", form, err)
				}
				if want := strings.TrimSuffix(readCaseFile(t, name, form+"-canonical-request.txt"), "\n"); creq != want {
					t.Errorf("%s: canonical request =\n%s\nwant\n%s", form, creq, want)
				}
				if want := strings.TrimSuffix(readCaseFile(t, name, form+"-string-to-sign.txt"), "\n"); sts != want {
					t.Errorf("%s: string to sign =\n%s\nwant\n%s", form, sts, want)
				}
				key := deriveKey(creds.SecretAccessKey, "20150830", "us-east-1", "service")
				sig := hmacSHA256(&key, []byte(sts))
				if got, want := hex.EncodeToString(sig[:]), strings.TrimSpace(readCaseFile(t, name, form+"-signature.txt")); got != want {
					t.Errorf("%s: signature = %s; want %s", form, got, want)
				}

				res, err := v.Verify(context.Background(), r, body, "service")
				if dropToken {
					// The token was appended to the URL after signing.
					wantKind(t, err, ErrInvalidToken)
					queryRejected++
					continue
				}
				if err != nil {
					t.Errorf("%s: Verify = %v; want success", form, err)
					continue
				}
				if res.AccessKeyID != exampleKeyID || res.Region != "us-east-1" || res.Service != "service" ||
					!res.Date.Equal(suiteTime) || res.Presigned != (form == "query") || res.Credentials != creds {
					t.Errorf("%s: Verify result = %+v", form, res)
					continue
				}
				if form == "header" {
					headerOK++
				} else {
					queryOK++
				}
			}
		})
	}
	t.Logf("AWS suite: header-signed %d/%d verified; presigned %d/%d verified, %d rejected as documented (omit_session_token)",
		headerOK, len(names), queryOK, len(names), queryRejected)
	if headerOK != len(names) || queryOK+queryRejected != len(names) || queryRejected != 1 {
		t.Errorf("suite counts: header %d, presigned %d + %d rejected, of %d", headerOK, queryOK, queryRejected, len(names))
	}
}
