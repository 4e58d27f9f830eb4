package awsquery_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/awsquery"
)

const ns = "https://example.com/"

// The types below mirror the output shapes of the Smithy awsQuery protocol
// tests (smithy-aws-protocol-tests/model/awsQuery/xml-*.smithy).

// simpleScalarXMLProperties mirrors SimpleScalarXmlPropertiesOutput.
type simpleScalarXMLProperties struct {
	StringValue       *string  `query:"stringValue"`
	EmptyStringValue  *string  `query:"emptyStringValue"`
	TrueBooleanValue  *bool    `query:"trueBooleanValue"`
	FalseBooleanValue *bool    `query:"falseBooleanValue"`
	ByteValue         *int8    `query:"byteValue"`
	ShortValue        *int16   `query:"shortValue"`
	IntegerValue      *int32   `query:"integerValue"`
	LongValue         *int64   `query:"longValue"`
	FloatValue        *float32 `query:"floatValue"`
	DoubleValue       *float64 `query:"DoubleDribble"`
}

// xmlTimestamps mirrors XmlTimestampsOutput.
type xmlTimestamps struct {
	Normal               *time.Time `query:"normal"`
	DateTime             *time.Time `query:"dateTime,timestamp=date-time"`
	DateTimeOnTarget     *time.Time `query:"dateTimeOnTarget,timestamp=date-time"`
	EpochSeconds         *time.Time `query:"epochSeconds,timestamp=epoch-seconds"`
	EpochSecondsOnTarget *time.Time `query:"epochSecondsOnTarget,timestamp=epoch-seconds"`
	HTTPDate             *time.Time `query:"httpDate,timestamp=http-date"`
	HTTPDateOnTarget     *time.Time `query:"httpDateOnTarget,timestamp=http-date"`
}

// xmlEnums mirrors XmlEnumsOutput and XmlIntEnumsOutput.
type xmlEnums struct {
	FooEnum1    *fooEnum               `query:"fooEnum1"`
	FooEnum2    *fooEnum               `query:"fooEnum2"`
	FooEnum3    *fooEnum               `query:"fooEnum3"`
	FooEnumList []fooEnum              `query:"fooEnumList"`
	FooEnumSet  []fooEnum              `query:"fooEnumSet"`
	FooEnumMap  map[string]fooEnum     `query:"fooEnumMap"`
	IntEnum1    *integerEnum           `query:"intEnum1"`
	IntEnumList []integerEnum          `query:"intEnumList"`
	IntEnumMap  map[string]integerEnum `query:"intEnumMap"`
}

// recursive1 and recursive2 mirror RecursiveXmlShapesOutputNested1/2.
type recursive1 struct {
	Foo    *string     `query:"foo"`
	Nested *recursive2 `query:"nested"`
}

type recursive2 struct {
	Bar             *string     `query:"bar"`
	RecursiveMember *recursive1 `query:"recursiveMember"`
}

type structureListMember struct {
	A *string `query:"value"`
	B *string `query:"other"`
}

// xmlLists mirrors XmlListsOutput (without the namespace members, which
// awsQuery services in Berth's scope do not use).
type xmlLists struct {
	StringList         []string              `query:"stringList"`
	StringSet          []string              `query:"stringSet"`
	IntegerList        []int32               `query:"integerList"`
	BooleanList        []bool                `query:"booleanList"`
	TimestampList      []time.Time           `query:"timestampList"`
	EnumList           []fooEnum             `query:"enumList"`
	IntEnumList        []integerEnum         `query:"intEnumList"`
	NestedStringList   [][]string            `query:"nestedStringList"`
	RenamedListMembers []string              `query:"renamed,member=item"`
	FlattenedList      []string              `query:"flattenedList,flat"`
	FlattenedList2     []string              `query:"customName,flat"`
	StructureList      []structureListMember `query:"myStructureList,member=item"`
}

type xmlMaps struct {
	MyMap map[string]greetingStruct `query:"myMap"`
}

type xmlMapsXMLName struct {
	MyMap map[string]greetingStruct `query:"myMap,key=Attribute,value=Setting"`
}

type flattenedXMLMap struct {
	MyMap map[string]fooEnum `query:"myMap,flat"`
}

type flattenedXMLMapWithXMLName struct {
	MyMap map[string]string `query:"KVP,flat,key=K,value=V"`
}

// Shapes beyond the Smithy tests.

type member struct {
	Name  string
	Count int
}

type encodeExtras struct {
	NilPtr      *string           // nil pointer: omitted
	Items       []string          // nil slice: omitted
	Empty       []string          // empty non-nil slice: empty element
	FlatEmpty   []string          `query:",flat"` // empty flat slice: nothing
	Zero        string            // zero non-pointer: written
	ZeroOmitted string            `query:",omitempty"`
	IntOmitted  int               `query:",omitempty"`
	TimeOmitted time.Time         `query:",omitempty"`
	ListOmitted []string          `query:",omitempty"`
	StructOmit  member            `query:",omitempty"`
	Struct      member            //
	PtrList     []*member         // nil elements keep their position
	NilMap      map[string]string //
	EmptyMap    map[string]string //
	Blob        []byte            //
	NilBlob     []byte            //
	Escaped     string            //
	Uint        uint64            //
	Small       float64           //
	Large       float32           //
	Stamp       time.Time         //
	Skipped     string            `query:"-"`
	base                          // embedded: promoted
}

// compact removes the indentation of the Smithy test bodies.
var betweenTags = regexp.MustCompile(`>\s+<`)

func compact(s string) string { return betweenTags.ReplaceAllString(strings.TrimSpace(s), "><") }

func TestMarshal(t *testing.T) {
	stamp := time.Unix(1398796238, 0).UTC()
	tests := []struct {
		name   string // the Smithy test id where the case mirrors one
		op     string
		id     string
		result any
		want   string
	}{
		// xml-structs.smithy
		{"QuerySimpleScalarProperties", "SimpleScalarXmlProperties", "", &simpleScalarXMLProperties{
			StringValue: ptr("string"), EmptyStringValue: ptr(""), TrueBooleanValue: ptr(true), FalseBooleanValue: ptr(false),
			ByteValue: ptr[int8](1), ShortValue: ptr[int16](2), IntegerValue: ptr[int32](3), LongValue: ptr[int64](4),
			FloatValue: ptr[float32](5.5), DoubleValue: ptr(6.5),
		}, `
			<SimpleScalarXmlPropertiesResponse xmlns="https://example.com/">
				<SimpleScalarXmlPropertiesResult>
					<stringValue>string</stringValue>
					<emptyStringValue></emptyStringValue>
					<trueBooleanValue>true</trueBooleanValue>
					<falseBooleanValue>false</falseBooleanValue>
					<byteValue>1</byteValue>
					<shortValue>2</shortValue>
					<integerValue>3</integerValue>
					<longValue>4</longValue>
					<floatValue>5.5</floatValue>
					<DoubleDribble>6.5</DoubleDribble>
				</SimpleScalarXmlPropertiesResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</SimpleScalarXmlPropertiesResponse>`},
		{"AwsQuerySupportsNaNFloatOutputs", "SimpleScalarXmlProperties", "", &simpleScalarXMLProperties{
			FloatValue: ptr(float32(math.NaN())), DoubleValue: ptr(math.NaN()),
		}, `
			<SimpleScalarXmlPropertiesResponse xmlns="https://example.com/">
				<SimpleScalarXmlPropertiesResult>
					<floatValue>NaN</floatValue>
					<DoubleDribble>NaN</DoubleDribble>
				</SimpleScalarXmlPropertiesResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</SimpleScalarXmlPropertiesResponse>`},
		{"AwsQuerySupportsInfinityFloatOutputs", "SimpleScalarXmlProperties", "", &simpleScalarXMLProperties{
			FloatValue: ptr(float32(math.Inf(1))), DoubleValue: ptr(math.Inf(1)),
		}, `
			<SimpleScalarXmlPropertiesResponse xmlns="https://example.com/">
				<SimpleScalarXmlPropertiesResult>
					<floatValue>Infinity</floatValue>
					<DoubleDribble>Infinity</DoubleDribble>
				</SimpleScalarXmlPropertiesResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</SimpleScalarXmlPropertiesResponse>`},
		{"AwsQuerySupportsNegativeInfinityFloatOutputs", "SimpleScalarXmlProperties", "", &simpleScalarXMLProperties{
			FloatValue: ptr(float32(math.Inf(-1))), DoubleValue: ptr(math.Inf(-1)),
		}, `
			<SimpleScalarXmlPropertiesResponse xmlns="https://example.com/">
				<SimpleScalarXmlPropertiesResult>
					<floatValue>-Infinity</floatValue>
					<DoubleDribble>-Infinity</DoubleDribble>
				</SimpleScalarXmlPropertiesResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</SimpleScalarXmlPropertiesResponse>`},
		{"QueryXmlBlobs", "XmlBlobs", "", &struct {
			Data []byte `query:"data"`
		}{[]byte("value")}, `
			<XmlBlobsResponse xmlns="https://example.com/">
				<XmlBlobsResult>
					<data>dmFsdWU=</data>
				</XmlBlobsResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</XmlBlobsResponse>`},
		// QueryXmlTimestamps and its *Format variants. Deviation: date-time
		// carries milliseconds (18:30:38.000Z where Smithy shows 18:30:38Z),
		// as AWS itself sends them; both are RFC 3339 date-time.
		{"QueryXmlTimestamps", "XmlTimestamps", "", &xmlTimestamps{
			Normal: &stamp, DateTime: &stamp, DateTimeOnTarget: &stamp, EpochSeconds: &stamp,
			EpochSecondsOnTarget: &stamp, HTTPDate: &stamp, HTTPDateOnTarget: &stamp,
		}, `
			<XmlTimestampsResponse xmlns="https://example.com/">
				<XmlTimestampsResult>
					<normal>2014-04-29T18:30:38.000Z</normal>
					<dateTime>2014-04-29T18:30:38.000Z</dateTime>
					<dateTimeOnTarget>2014-04-29T18:30:38.000Z</dateTimeOnTarget>
					<epochSeconds>1398796238</epochSeconds>
					<epochSecondsOnTarget>1398796238</epochSecondsOnTarget>
					<httpDate>Tue, 29 Apr 2014 18:30:38 GMT</httpDate>
					<httpDateOnTarget>Tue, 29 Apr 2014 18:30:38 GMT</httpDateOnTarget>
				</XmlTimestampsResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</XmlTimestampsResponse>`},
		{"fractional timestamps (AwsQueryDateTimeWithFractionalSeconds)", "FractionalSeconds", "", &struct {
			DateTime time.Time `query:"datetime"`
			Epoch    time.Time `query:"epoch,timestamp=epoch-seconds"`
		}{time.UnixMilli(946845296123).In(time.FixedZone("x", 3600)), time.UnixMilli(946845296123)}, `
			<FractionalSecondsResponse xmlns="https://example.com/">
				<FractionalSecondsResult>
					<datetime>2000-01-02T20:34:56.123Z</datetime>
					<epoch>946845296.123</epoch>
				</FractionalSecondsResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</FractionalSecondsResponse>`},
		// QueryXmlEnums and QueryXmlIntEnums, combined.
		{"QueryXmlEnums", "XmlEnums", "", &xmlEnums{
			FooEnum1: ptr[fooEnum]("Foo"), FooEnum2: ptr[fooEnum]("0"), FooEnum3: ptr[fooEnum]("1"),
			FooEnumList: []fooEnum{"Foo", "0"}, FooEnumSet: []fooEnum{"Foo", "0"},
			FooEnumMap: map[string]fooEnum{"hi": "Foo", "zero": "0"},
			IntEnum1:   ptr[integerEnum](1), IntEnumList: []integerEnum{1, 2}, IntEnumMap: map[string]integerEnum{"a": 1, "b": 2},
		}, `
			<XmlEnumsResponse xmlns="https://example.com/">
				<XmlEnumsResult>
					<fooEnum1>Foo</fooEnum1>
					<fooEnum2>0</fooEnum2>
					<fooEnum3>1</fooEnum3>
					<fooEnumList><member>Foo</member><member>0</member></fooEnumList>
					<fooEnumSet><member>Foo</member><member>0</member></fooEnumSet>
					<fooEnumMap>
						<entry><key>hi</key><value>Foo</value></entry>
						<entry><key>zero</key><value>0</value></entry>
					</fooEnumMap>
					<intEnum1>1</intEnum1>
					<intEnumList><member>1</member><member>2</member></intEnumList>
					<intEnumMap>
						<entry><key>a</key><value>1</value></entry>
						<entry><key>b</key><value>2</value></entry>
					</intEnumMap>
				</XmlEnumsResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</XmlEnumsResponse>`},
		{"QueryRecursiveShapes", "RecursiveXmlShapes", "", &struct {
			Nested *recursive1 `query:"nested"`
		}{&recursive1{Foo: ptr("Foo1"), Nested: &recursive2{Bar: ptr("Bar1"), RecursiveMember: &recursive1{
			Foo: ptr("Foo2"), Nested: &recursive2{Bar: ptr("Bar2")},
		}}}}, `
			<RecursiveXmlShapesResponse xmlns="https://example.com/">
				<RecursiveXmlShapesResult>
					<nested>
						<foo>Foo1</foo>
						<nested>
							<bar>Bar1</bar>
							<recursiveMember>
								<foo>Foo2</foo>
								<nested>
									<bar>Bar2</bar>
								</nested>
							</recursiveMember>
						</nested>
					</nested>
				</RecursiveXmlShapesResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</RecursiveXmlShapesResponse>`},
		{"QueryIgnoresWrappingXmlName", "IgnoresWrappingXmlName", "", &struct {
			Foo string `query:"foo"`
		}{"bar"}, `
			<IgnoresWrappingXmlNameResponse xmlns="https://example.com/">
				<IgnoresWrappingXmlNameResult>
					<foo>bar</foo>
				</IgnoresWrappingXmlNameResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</IgnoresWrappingXmlNameResponse>`},
		{"QueryGreetingWithErrors", "GreetingWithErrors", "abc-123", struct { // a struct value, not a pointer
			Greeting string `query:"greeting"`
		}{"Hello"}, `
			<GreetingWithErrorsResponse xmlns="https://example.com/">
				<GreetingWithErrorsResult>
					<greeting>Hello</greeting>
				</GreetingWithErrorsResult>
				<ResponseMetadata><RequestId>abc-123</RequestId></ResponseMetadata>
			</GreetingWithErrorsResponse>`},

		// xml-lists.smithy
		{"QueryXmlLists", "XmlLists", "", &xmlLists{
			StringList: []string{"foo", "bar"}, StringSet: []string{"foo", "bar"}, IntegerList: []int32{1, 2},
			BooleanList: []bool{true, false}, TimestampList: []time.Time{stamp, stamp}, EnumList: []fooEnum{"Foo", "0"},
			IntEnumList: []integerEnum{1, 2}, NestedStringList: [][]string{{"foo", "bar"}, {"baz", "qux"}},
			RenamedListMembers: []string{"foo", "bar"}, FlattenedList: []string{"hi", "bye"}, FlattenedList2: []string{"yep", "nope"},
			StructureList: []structureListMember{{A: ptr("1"), B: ptr("2")}, {A: ptr("3"), B: ptr("4")}},
		}, `
			<XmlListsResponse xmlns="https://example.com/">
				<XmlListsResult>
					<stringList><member>foo</member><member>bar</member></stringList>
					<stringSet><member>foo</member><member>bar</member></stringSet>
					<integerList><member>1</member><member>2</member></integerList>
					<booleanList><member>true</member><member>false</member></booleanList>
					<timestampList>
						<member>2014-04-29T18:30:38.000Z</member>
						<member>2014-04-29T18:30:38.000Z</member>
					</timestampList>
					<enumList><member>Foo</member><member>0</member></enumList>
					<intEnumList><member>1</member><member>2</member></intEnumList>
					<nestedStringList>
						<member><member>foo</member><member>bar</member></member>
						<member><member>baz</member><member>qux</member></member>
					</nestedStringList>
					<renamed><item>foo</item><item>bar</item></renamed>
					<flattenedList>hi</flattenedList>
					<flattenedList>bye</flattenedList>
					<customName>yep</customName>
					<customName>nope</customName>
					<myStructureList>
						<item><value>1</value><other>2</other></item>
						<item><value>3</value><other>4</other></item>
					</myStructureList>
				</XmlListsResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</XmlListsResponse>`},

		// xml-maps.smithy. Entries come sorted by key; Smithy lists foo before
		// baz, but awsQuery maps carry no order.
		{"QueryXmlMaps", "XmlMaps", "", &xmlMaps{map[string]greetingStruct{"foo": {ptr("there")}, "baz": {ptr("bye")}}}, `
			<XmlMapsResponse xmlns="https://example.com/">
				<XmlMapsResult>
					<myMap>
						<entry><key>baz</key><value><hi>bye</hi></value></entry>
						<entry><key>foo</key><value><hi>there</hi></value></entry>
					</myMap>
				</XmlMapsResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</XmlMapsResponse>`},
		{"QueryQueryXmlMapsXmlName", "XmlMapsXmlName", "", &xmlMapsXMLName{map[string]greetingStruct{"foo": {ptr("there")}, "baz": {ptr("bye")}}}, `
			<XmlMapsXmlNameResponse xmlns="https://example.com/">
				<XmlMapsXmlNameResult>
					<myMap>
						<entry><Attribute>baz</Attribute><Setting><hi>bye</hi></Setting></entry>
						<entry><Attribute>foo</Attribute><Setting><hi>there</hi></Setting></entry>
					</myMap>
				</XmlMapsXmlNameResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</XmlMapsXmlNameResponse>`},
		{"QueryQueryFlattenedXmlMap", "FlattenedXmlMap", "", &flattenedXMLMap{map[string]fooEnum{"foo": "Foo", "baz": "Baz"}}, `
			<FlattenedXmlMapResponse xmlns="https://example.com/">
				<FlattenedXmlMapResult>
					<myMap><key>baz</key><value>Baz</value></myMap>
					<myMap><key>foo</key><value>Foo</value></myMap>
				</FlattenedXmlMapResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</FlattenedXmlMapResponse>`},
		{"QueryQueryFlattenedXmlMapWithXmlName", "FlattenedXmlMapWithXmlName", "", &flattenedXMLMapWithXMLName{map[string]string{"a": "A", "b": "B"}}, `
			<FlattenedXmlMapWithXmlNameResponse xmlns="https://example.com/">
				<FlattenedXmlMapWithXmlNameResult>
					<KVP><K>a</K><V>A</V></KVP>
					<KVP><K>b</K><V>B</V></KVP>
				</FlattenedXmlMapWithXmlNameResult>
				<ResponseMetadata><RequestId></RequestId></ResponseMetadata>
			</FlattenedXmlMapWithXmlNameResponse>`},

		// empty-input-output.smithy
		{"QueryNoInputAndNoOutputWithResponseMetadata", "NoInputAndNoOutput", "abc-123", nil, `
			<NoInputAndNoOutputResponse xmlns="https://example.com/">
				<ResponseMetadata>
					<RequestId>abc-123</RequestId>
				</ResponseMetadata>
			</NoInputAndNoOutputResponse>`},
		{"typed nil result is no result", "NoInputAndNoOutput", "abc-123", (*xmlMaps)(nil), `
			<NoInputAndNoOutputResponse xmlns="https://example.com/">
				<ResponseMetadata><RequestId>abc-123</RequestId></ResponseMetadata>
			</NoInputAndNoOutputResponse>`},
		{"QueryEmptyInputAndEmptyOutput", "EmptyInputAndEmptyOutput", "abc-123", &struct{}{}, `
			<EmptyInputAndEmptyOutputResponse xmlns="https://example.com/">
				<EmptyInputAndEmptyOutputResult></EmptyInputAndEmptyOutputResult>
				<ResponseMetadata><RequestId>abc-123</RequestId></ResponseMetadata>
			</EmptyInputAndEmptyOutputResponse>`},
		{"all members nil still has the Result element", "XmlMaps", "abc-123", &xmlMaps{}, `
			<XmlMapsResponse xmlns="https://example.com/">
				<XmlMapsResult></XmlMapsResult>
				<ResponseMetadata><RequestId>abc-123</RequestId></ResponseMetadata>
			</XmlMapsResponse>`},

		// Beyond the Smithy tests.
		{"omission, empties, escaping, number formats", "Extras", "<id&>", &encodeExtras{
			Empty: []string{}, FlatEmpty: []string{}, Struct: member{Name: "n"},
			PtrList: []*member{{Name: "a", Count: 1}, nil}, EmptyMap: map[string]string{},
			Blob: []byte{}, Escaped: "<a href=\"x\">'&'</a>\r\n\t\x00\xff\uFFFE🙂",
			Uint: math.MaxUint64, Small: 1e-7, Large: 1e21, Stamp: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC),
			Skipped: "no", base: base{Marker: ptr("m")},
		}, `
			<ExtrasResponse xmlns="https://example.com/">
				<ExtrasResult>
					<Empty></Empty>
					<Zero></Zero>
					<Struct><Name>n</Name><Count>0</Count></Struct>
					<PtrList>
						<member><Name>a</Name><Count>1</Count></member>
						<member></member>
					</PtrList>
					<EmptyMap></EmptyMap>
					<Blob></Blob>
					<Escaped>&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;&#xD;` + "\n\t\uFFFD\uFFFD\uFFFD🙂" + `</Escaped>
					<Uint>18446744073709551615</Uint>
					<Small>1e-07</Small>
					<Large>1e+21</Large>
					<Stamp>2026-01-02T03:04:05.006Z</Stamp>
					<Marker>m</Marker>
				</ExtrasResult>
				<ResponseMetadata><RequestId>&lt;id&amp;&gt;</RequestId></ResponseMetadata>
			</ExtrasResponse>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := awsquery.Marshal(tt.op, ns, tt.id, tt.result)
			if err != nil {
				t.Fatalf("Marshal(%s) = %v", tt.op, err)
			}
			if want := compact(tt.want); string(got) != want {
				t.Errorf("Marshal(%s) =\n%s\nwant\n%s", tt.op, got, want)
			}
			if err := wellFormed(got); err != nil {
				t.Errorf("Marshal(%s) is not well-formed XML: %v", tt.op, err)
			}
		})
	}
}

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func TestMarshalNoNamespace(t *testing.T) {
	got, err := awsquery.Marshal("Op", "", "id", nil)
	want := `<OpResponse><ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></OpResponse>`
	if err != nil || string(got) != want {
		t.Errorf("Marshal(Op, \"\") = %s, %v; want %s", got, err, want)
	}
}

type cyclic struct {
	Next *cyclic
}

func TestMarshalErrors(t *testing.T) {
	loop := &cyclic{}
	loop.Next = loop
	tests := []struct {
		name   string
		op     string
		result any
	}{
		{"empty op", "", nil},
		{"op with markup", "Op><x", nil},
		{"non-struct result", "Op", ptr("x")},
		{"slice result", "Op", []string{"x"}},
		{"unsupported member", "Op", &struct{ F func() }{}},
		{"pointer cycle", "Op", loop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := awsquery.Marshal(tt.op, ns, "id", tt.result); err == nil {
				t.Errorf("Marshal(%q, %T) = nil error; want an error", tt.op, tt.result)
			}
			rec := httptest.NewRecorder()
			if err := awsquery.WriteResponse(rec, tt.op, ns, "id", tt.result); err == nil {
				t.Errorf("WriteResponse(%q, %T) = nil error; want an error", tt.op, tt.result)
			}
			if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
				t.Errorf("WriteResponse(%q, %T) wrote %q; want nothing", tt.op, tt.result, rec.Body)
			}
		})
	}
}

func TestWriteResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	result := &struct{ Arn string }{"arn:aws:iam::123456789012:role/x"}
	if err := awsquery.WriteResponse(rec, "GetRole", "https://iam.amazonaws.com/doc/2010-05-08/", "req-1", result); err != nil {
		t.Fatal(err)
	}
	want, _ := awsquery.Marshal("GetRole", "https://iam.amazonaws.com/doc/2010-05-08/", "req-1", result)
	if rec.Code != http.StatusOK {
		t.Errorf("WriteResponse status = %d; want 200", rec.Code)
	}
	if got := rec.Body.String(); got != string(want) {
		t.Errorf("WriteResponse body = %s; want %s", got, want)
	}
	for k, v := range map[string]string{
		"Content-Type":     "text/xml",
		"Content-Length":   strconv.Itoa(len(want)),
		"X-Amzn-Requestid": "req-1",
	} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("WriteResponse header %s = %q; want %q", k, got, v)
		}
	}
}

// TestWriteError mirrors QueryInvalidGreetingError and QueryCustomizedError
// (xml-errors.smithy), with the namespace AWS services add.
func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		code, msg  string
		sender     bool
		wantStatus int
		want       string
	}{
		{"QueryInvalidGreetingError", 400, "InvalidGreeting", "Hi", true, 400, `
			<ErrorResponse xmlns="https://example.com/">
				<Error>
					<Type>Sender</Type>
					<Code>InvalidGreeting</Code>
					<Message>Hi</Message>
				</Error>
				<RequestId>foo-id</RequestId>
			</ErrorResponse>`},
		{"QueryCustomizedError", 402, "Customized", "Hi", true, 402, `
			<ErrorResponse xmlns="https://example.com/">
				<Error><Type>Sender</Type><Code>Customized</Code><Message>Hi</Message></Error>
				<RequestId>foo-id</RequestId>
			</ErrorResponse>`},
		{"receiver with default status", 0, "ServiceFailure", "Internal error.", false, 500, `
			<ErrorResponse xmlns="https://example.com/">
				<Error><Type>Receiver</Type><Code>ServiceFailure</Code><Message>Internal error.</Message></Error>
				<RequestId>foo-id</RequestId>
			</ErrorResponse>`},
		{"sender with default status, no message", 0, "AccessDenied", "", true, 400, `
			<ErrorResponse xmlns="https://example.com/">
				<Error><Type>Sender</Type><Code>AccessDenied</Code></Error>
				<RequestId>foo-id</RequestId>
			</ErrorResponse>`},
		{"message echoing client input is escaped", 400, "ValidationError", "Value '<\x01&>' is invalid.", true, 400, `
			<ErrorResponse xmlns="https://example.com/">
				<Error><Type>Sender</Type><Code>ValidationError</Code><Message>Value &apos;&lt;` + "\uFFFD" + `&amp;&gt;&apos; is invalid.</Message></Error>
				<RequestId>foo-id</RequestId>
			</ErrorResponse>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			awsquery.WriteError(rec, ns, "foo-id", tt.status, tt.code, tt.msg, tt.sender)
			want := compact(tt.want)
			if rec.Code != tt.wantStatus {
				t.Errorf("WriteError(%d, %s) status = %d; want %d", tt.status, tt.code, rec.Code, tt.wantStatus)
			}
			if got := rec.Body.String(); got != want {
				t.Errorf("WriteError(%s) body =\n%s\nwant\n%s", tt.code, got, want)
			}
			if got := string(awsquery.MarshalError(ns, "foo-id", tt.code, tt.msg, tt.sender)); got != want {
				t.Errorf("MarshalError(%s) = %s; want %s", tt.code, got, want)
			}
			for k, v := range map[string]string{
				"Content-Type":     "text/xml",
				"Content-Length":   strconv.Itoa(len(want)),
				"X-Amzn-Requestid": "foo-id",
			} {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("WriteError header %s = %q; want %q", k, got, v)
				}
			}
		})
	}
}

// FuzzMarshalError checks that any message, however hostile, yields
// well-formed XML that carries the message (bar unrepresentable characters).
func FuzzMarshalError(f *testing.F) {
	for _, s := range []string{"", "plain", "<>&'\"", "\x00\x01\r\n\t", "\xff\xfe", "\uFFFE\uFFFF", "]]>", "🙂"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		b := awsquery.MarshalError(ns, msg, "Code", msg, true)
		var doc struct {
			Error struct {
				Message string
			}
			RequestID string `xml:"RequestId"`
		}
		if err := xml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("MarshalError(%q) = %q: %v", msg, b, err)
		}
		if xmlSafe(msg) && msg != "" && (doc.Error.Message != msg || doc.RequestID != msg) {
			t.Errorf("MarshalError(%q) round trip = %q, %q", msg, doc.Error.Message, doc.RequestID)
		}
	})
}

// xmlSafe reports whether s survives an XML round trip unchanged.
func xmlSafe(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' || r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}
