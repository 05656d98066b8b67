#!/usr/bin/env python3
"""Write the seed corpora under tests/fuzz/corpus/ (run again to refresh).

Hand-picked inputs for each target: the examples of SPEC.md, the edge cases
the tests name (numbers kept verbatim, escapes, duplicate keys, CRLF,
invalid UTF-8), and a few near misses.  libFuzzer grows its own corpus
from these in build/fuzz/corpus/.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

REC = ('{"position":12,"stream":"users","aggregateId":"u1","version":3,'
       '"timestamp":"2026-11-26T11:39:47.123Z",'
       '"event":{"type":"disabled","by":"admin"}}')

json_seeds = [
    '{"type":"created","name":"ann"}',
    ' { "type" : "a" , "n" : [ 1 , 2.5e-3 , -0 , true , false , null ] }\r\n',
    '{"n":0.1,"big":1e400,"i":12345678901234567890}',
    '{"a":1,"a":2,"type":"x","type":"y"}',
    '{"t\\u0079pe":"x","\\u00e9":"\\ud83d\\ude00","s":"\\"\\\\\\/\\b\\f\\n\\r\\t"}',
    '{"lone":"\\ud800","low":"\\udc00","nul":"\\u0000"}',
    '"just a string"', '42', '-1.5E+10', 'true', 'false', 'null', '[]', '{}',
    '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
    '{"a":{"b":{"c":[{"d":"e"}]}}',
    '{"x":"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"}',
    '{"bad":"\xc3\x28"}', '{"bad":"\xed\xa0\x80"}', '{"bad":"\xc0\xaf"}',
    '{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":-}', '{"a":1e}', '{"a":+1}',
    '{"a":"\t"}', '{"a":1,}', '[1,]', '{"a" 1}', '{a:1}', "{'a':1}",
    '{"a":1}}', '{"a":1} x', '', '   ', '{"a":"\\x"}', '{"a":"\\u12"}',
    '{"a":tru}', '{"a":nul}', '\x00', '{"a":"b\x00"}',
    '{"\\":1}', '[' * 100, '{"type":"a"',
    '{"":""}',    # evt_json_unquote of "" left its buffer without a NUL
    REC,
]

event_seeds = [
    '{"type":"created","name":"ann"}',
    '{"type":"a","type":"b"}', '{"type":""}', '{"type":1}', '{"name":"x"}',
    '{"t\\u0079pe":"x"}', '{"type":"x","__persisted":true,"aggregateId":"z","version":9}',
    '{"type":"x","n":0.1,"big":1e400,"i":12345678901234567890,"a":[1,{"b":2}]}',
    '{"type":"x","\\u0061":1,"a":2}', '{"type":"x","\\ud800":1,"\\uD800":2}',
    '[{"type":"x"}]', '"type"', '{"type":"x"} ', ' {"type":"\\u0000"}',
    '{"type":"x","a":{"type":"nested"}}', '{"type":"x","":""}',
]

record_seeds = [
    REC + '\n',
    REC + '\r\n' + REC.replace('"version":3,', '') + '\n\n  \n',
    '{"stream":"s","aggregateId":"a","event":{"type":"x"}}',
    '{"stream":"s","aggregateId":"a","event":{"type":"x"},"version":null,"timestamp":null}',
    '{"stream":"s","aggregateId":"a","event":{"type":"x"},"timestamp":1764157187123}',
    '{"stream":"s","aggregateId":"a","event":{"type":"x"},"timestamp":"2026-11-26 11:39:47+01:00"}',
    '{"stream":"s","aggregateId":"a","event":{"type":"x"},"timestamp":"2026-11-26"}',
    '{"stream":"s","aggregateId":"a","event":{"type":"x"},"timestamp":"yesterday"}',
    '{"stream":"s","aggregateId":"a","event":{"type":"x"},"version":0}',
    '{"stream":"s","aggregateId":"a","event":{"type":"x"},"version":1.5}',
    '{"stream":"s","aggregateId":"a","event":{"type":"x"},"version":99999999999999999999}',
    '{"stream":"s","aggregateId":"a","event":{"type":"x"},"version":"1"}',
    '{"stream":"","aggregateId":"a","event":{"type":"x"}}',
    '{"stream":"s\\u0000","aggregateId":"a","event":{"type":"x"}}',
    '{"stream":"s\\"q\\n\\u0001","aggregateId":"a\\\\b","event":{"type":"x"}}',
    '{"stream":"' + 'x' * 255 + '","aggregateId":"' + 'y' * 255 + '","event":{"type":"x"}}',
    '{"stream":"' + 'x' * 256 + '","aggregateId":"a","event":{"type":"x"}}',
    '{"stream":"' + '\\u0001' * 200 + '","aggregateId":"' + 'y' * 255 + '","event":{"type":"x"}}',
    # escaped streams then a long id: evt_record_print overflowed its
    # buffer (found by fuzz_record)
] + ['{"stream":"' + '\\u0001' * k + '","aggregateId":"' + 'y' * 255 +
     '","event":{"type":"x"}}' for k in (30, 40, 50, 60, 120, 150)] + [
    '{"stream":"s","aggregateId":"a","event":"{\\"type\\":\\"x\\"}"}',
    '{"stream":"s","aggregateId":"a","event":{"type":"x"},"stream":"t"}',
    '{"stream":"s","aggregateId":"a"}', '[]', 'not json', REC[:-20],
]

answer_seeds = [
    '{"n":2}\n', 'null\n', '{"aggregateId":"x","version":7,"n":3}\n',
    '{"a":1,"a":2,"\\u0061":3}\n', '[1]\n', '"s"\n', '1\n', 'true\n',
    '\n', '{"n":\n', '{"n":1}\r\n{"m":[1,2]}\nnull\n{"n":{"deep":true}}',
    '{"\\ud800":1}\n{"\\uD800":2}\n',
]

command_seeds = [
    '{"type":"created","name":"ann"}\n{"type":"renamed","name":"bo"}\n',
    '[{"type":"a"},{"type":"b","n":1}]', '  [ ]  ', '[]\n', '', '\n\n  \n',
    '{"type":"a"}', '{"type":"a"}\r\n\r\n{"type":"b"}', '[{"type":"a"}] x',
    '[{"type":"a"},1]', '{"name":"x"}\n', '{"type":"a"} {"type":"b"}\n',
    '[{"type":"a"}]\n[{"type":"b"}]', '{"amount":12.50,"type":"deposited"}',
    '{"type":"a"}\n[1]\n', '[{"type":""}]',
]

names_seeds = [
    'events.db\nevents\nbookmarks\nusers\n42\n2026-11-26T11:39:47.123Z',
    'sqlite:/tmp/x.db\nmy_events\nmy_marks\nusers,posts\n-1\n2026-11-26',
    'postgres://u@h/db\npublic.events\nbm\na,,b\n0\n2026-11-26 11:39',
    'postgresql://h/db?sslmode=disable\nevt.events\nx.y.z\n,\n9223372036854775807\n2026-11-26T11:39:47+01:00',
    'postgres:/x\n1events\n_\n\xff\n9223372036854775808\n2026-11-26T11:39:47.1234567Z',
    'sqlite:\nevents-x\n' + 'b' * 63 + '\n' + 'x' * 256 + '\n+5\n2026-11-26T11:39:47+0100',
    'x.db\n' + 'e' * 64 + '\nbookmarks\ns\n 5\n1764157187123',
    'x.db\nschema.\n.name\ns\xc3\xa9\n5x\n-62135596800000',
    'x.db\nevents\nbookmarks\ns\n\n5\n2026-13-45T99:99Z',
    # strtoll skips a leading \v, \f or \r: evt_parse_i64 must not
    'x.db\nevents\nbookmarks\ns\n\x0b5\n2026-11-26',
    # timestamps: leap days, the ends of the range, offsets, fields out of
    # range
    'x.db\nevents\nbookmarks\ns\n1\n2024-02-29T23:59:59.999-23:59',
    'x.db\nevents\nbookmarks\ns\n1\n2100-02-29T00:00Z',
    'x.db\nevents\nbookmarks\ns\n1\n0001-01-01T00:00:00+00:01',
    'x.db\nevents\nbookmarks\ns\n1\n9999-12-31T23:59:59.9999999Z',
    'x.db\nevents\nbookmarks\ns\n1\n2026-11-26T24:00:00+02',
    # URLs: SQLAlchemy's forms, a host, other schemes, URI parameters
    'sqlite:///rel.db\nevents\nbookmarks\ns\n1\n1',
    'sqlite:////abs.db\nevents\nbookmarks\ns\n1\n1',
    'sqlite://host/x.db\nevents\nbookmarks\ns\n1\n1',
    'mysql://u:pw@h:3306/db?socket=/x\nevents\nbookmarks\ns\n1\n1',
    'mariadb://h/db\nevents\nbookmarks\ns\n1\n1',
    'x.db?mode=ro\nevents\nbookmarks\ns\n1\n1',
    'file:x.db\nevents\nbookmarks\ns\n1\n1',
    'dir/a://b.db\nevents\nbookmarks\ns\n1\n1',
]

fold_seeds = [
    '\x00' + REC + '\n',
    '\x01' + REC + '\n' + REC.replace('"u1"', '"u2"') + '\n',
    '\x02{"stream":"s","aggregateId":"a","event":{"type":"x","n":1}}\n'
    '{"stream":"s","aggregateId":"a","event":{"type":"y","n":2,"m":[1]}}\n',
    '\x03{"stream":"s","aggregateId":"a","version":1,"event":{"type":"x"}}\n',
    '\x04{"stream":"s","aggregateId":"a","event":{"type":"x","big":1e400,"i":12345678901234567890}}\n',
    '\x05{"stream":"s","aggregateId":"a","event":{"type":"x"}}\n{"stream":"t","aggregateId":"a","event":{"type":"y"}}',
    '\x06{"position":7,"stream":"s","aggregateId":"a","timestamp":null,"event":{"type":"null"}}\n',
    '\x07{"stream":"s","aggregateId":"a","event":{"type":"x","\\ud800":1}}\n',
    '\x00{"stream":"s","aggregateId":"a","event":{"type":"x"}}\nbroken\n',
]

CORPORA = {
    'fuzz_json': json_seeds, 'fuzz_event': event_seeds,
    'fuzz_record': record_seeds, 'fuzz_answer': answer_seeds,
    'fuzz_command': command_seeds, 'fuzz_names': names_seeds,
    'fuzz_fold': fold_seeds,
}

for target, seeds in CORPORA.items():
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    for i, s in enumerate(seeds):
        with open(os.path.join(d, 'seed-%02d' % i), 'wb') as f:
            # every character is a byte: '\xc3\xa9' is UTF-8 for e-acute
            f.write(s.encode('latin-1'))
