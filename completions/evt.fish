# fish completion for evt and the evt-* programs

# true when the command line has no verb yet: `evt <TAB>`
# (the value of -d URL is no verb)
function __evt_needs_verb
    set -l skip 0
    for t in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
        else if contains -- $t -d --db
            set skip 1
        else if not string match -q -- '-*' $t
            return 1
        end
    end
    return 0
end

# true after `evt help`
function __evt_after_help
    set -l tokens (commandline -opc)
    test (count $tokens) -ge 2; and test "$tokens[-1]" = help
end

# `evt VERB ARG...`: complete as `evt-VERB ARG...`
function __evt_complete_verb
    set -l tokens (commandline -opc)[2..-1]
    while set -q tokens[1]; and string match -q -- '-*' $tokens[1]
        contains -- $tokens[1] -d --db; and set -e tokens[1]
        set -e tokens[1]
    end
    test "$tokens[1]" = help; and return
    set tokens[1] evt-$tokens[1]
    set -l line (string join ' ' -- (string escape -- $tokens) (commandline -ct))
    complete --do-complete="$line"
end

# The index of the `--` that starts the program of evt-handle and
# evt-command, if one was typed.  A `--` before any operand ends the
# options: then NAME STREAM (STREAM ID COMMAND) and a second `--` come
# before the program.
function __evt_program_start
    set -l tokens (commandline -opc)
    if not contains -- $tokens[1] evt-handle evt-command
        contains -i -- -- $tokens
        return
    end
    set -l n 2
    test $tokens[1] = evt-command; and set n 3
    set -l lead
    set -l i 2
    while test $i -le (count $tokens)
        set -l t $tokens[$i]
        if test "$t" = --
            if test -z "$lead"
                set i (math $i + 1 + $n)
                while test $i -le (count $tokens); and test "$tokens[$i]" != --
                    set i (math $i + 1)
                end
                test $i -le (count $tokens); or return 1
            end
            echo $i
            return 0
        else if contains -- $t -d --db --events-table --bookmarks-table --on --stream --batch --retries --retry-delay --timeout --jq --jq-file --exec --init --persist --key
            set i (math $i + 1)
        else if not string match -q -- '-?*' $t
            set lead 1
        end
        set i (math $i + 1)
    end
    return 1
end

# true after the `--` where evt-handle and evt-command take a program
function __evt_after_dashdash
    __evt_program_start >/dev/null
end

function __evt_complete_program
    set -l tokens (commandline -opc)
    set -l i (__evt_program_start)
    set -e tokens[1..$i]
    set -l line (string join ' ' -- (string escape -- $tokens) (commandline -ct))
    complete --do-complete="$line"
end

complete -c evt -f
complete -c evt -n __evt_needs_verb -s h -l help -d 'list the verbs'
complete -c evt -n __evt_needs_verb -l version -d 'print the version'
complete -c evt -n __evt_needs_verb -s d -l db -r -F -d 'the store, passed on to the verb'
complete -c evt -n __evt_needs_verb -a help -d 'show the usage of a verb'
complete -c evt -n __evt_after_help -a 'append read fold tail handle command'
complete -c evt -n __evt_needs_verb -a append -d 'append events to an aggregate'
complete -c evt -n __evt_needs_verb -a read -d 'print stored events as NDJSON'
complete -c evt -n __evt_needs_verb -a fold -d 'fold an aggregate\'s events into its current state'
complete -c evt -n __evt_needs_verb -a tail -d 'follow the store, printing new events as they commit'
complete -c evt -n __evt_needs_verb -a handle -d 'run a program per event, with a durable bookmark'
complete -c evt -n __evt_needs_verb -a command -d 'load an aggregate, run a command handler, append what it decides'
complete -c evt -n 'not __evt_needs_verb' -a '(__evt_complete_verb)'

set -l opt -n 'not __evt_after_dashdash'

for p in evt-append evt-read evt-fold evt-tail evt-handle evt-command
    # streams, ids and JSON are not file names
    complete -c $p -f
    complete -c $p $opt -s d -l db -r -F -d 'the store: postgres:// or mysql:// URL, or SQLite file'
    complete -c $p $opt -l events-table -x -d 'the events table'
    complete -c $p $opt -s h -l help -d 'print usage'
    complete -c $p $opt -l version -d 'print the version'
end

# every program accepts --bookmarks-table; evt-read, evt-fold and evt-tail
# ignore it
for p in evt-append evt-handle evt-command
    complete -c $p $opt -l bookmarks-table -x -d 'the bookmarks table'
end
for p in evt-read evt-fold evt-tail
    complete -c $p $opt -l bookmarks-table -x -d 'accepted, not used: reads no bookmarks'
end

for p in evt-fold evt-command
    complete -c $p $opt -l jq -x -d 'reduce with a jq program'
    complete -c $p $opt -l jq-file -r -F -d 'reduce with the jq program in a file'
    complete -c $p $opt -l exec -x -a '(__fish_complete_command)' -d 'reduce with a command run by /bin/sh -c'
    complete -c $p $opt -l init -x -d 'the initial state, a JSON object'
    complete -c $p $opt -l persist -x -d 'keep the folded aggregate as a snapshot under a key'
    complete -c $p $opt -l timeout -x -d 'stop the --exec reducer (and a command program) after SECONDS'
end

for p in evt-handle evt-command
    complete -c $p -n __evt_after_dashdash -a '(__evt_complete_program)'
end

complete -c evt-append -s q -l quiet -d 'print no records'
complete -c evt-append -s e -l expect -x -a 'any exists' -d 'the version the aggregate must be at'
complete -c evt-append -l records -d 'read records, not events, from stdin'
complete -c evt-append -l count -x -d 'the input must hold exactly N events'
complete -c evt-append -l key -x -d 'idempotency key: a KEY used before appends nothing'

complete -c evt-read -s n -l limit -x -d 'print at most LIMIT records'
complete -c evt-read -l after -x -d 'only positions greater than POSITION'
complete -c evt-read -l type -x -d 'only events of TYPE'
complete -c evt-read -l last -d 'only the newest matching record'
complete -c evt-read -l head -d 'print the greatest matching position'
complete -c evt-read -l stream -x -d 'the stream NAME exactly, a comma and all (then only ID)'
complete -c evt-read -l streams -d 'one line per stream'
complete -c evt-read -l aggregates -x -d 'one line per aggregate of STREAM'

complete -c evt-fold -l all -d 'every aggregate of the stream'
complete -c evt-fold -l scan -d 'print the aggregate after every event'

complete -c evt-tail -l after -x -d 'first print the history after POSITION'
complete -c evt-tail -s n -l lines -x -d 'first print the last N records'
complete -c evt-tail -l type -x -d 'only events of TYPE'
complete -c evt-tail -l count -x -d 'exit after N records'
complete -c evt-tail -l stream -x -d 'the stream NAME exactly, a comma and all'

complete -c evt-handle $opt -l on -x -d 'run COMMAND for events of TYPE: [STREAM:]TYPE=COMMAND'
complete -c evt-handle $opt -l stream -x -d 'the stream NAME exactly, a comma and all (then only NAME)'
complete -c evt-handle $opt -l status -d 'print the handlers, their streams and lag'
complete -c evt-handle $opt -l reset -d 'set the bookmark of NAME, to replay'
complete -c evt-handle $opt -l parked -d 'print the parked events of NAME'
complete -c evt-handle $opt -l drop -d 'delete the bookmark, parked events and streams of NAME'
complete -c evt-handle $opt -l tail -d 'start a new bookmark at the end of the streams'
complete -c evt-handle $opt -l always-tail -d 'start at the end of the streams on every start'
complete -c evt-handle $opt -l follow -d 'keep waiting for new events'
complete -c evt-handle $opt -l batch -x -d 'give the program up to N records per run'
complete -c evt-handle $opt -l retries -x -d 'retry a failed event N times'
complete -c evt-handle $opt -l retry-delay -x -d 'the first delay between retries, in milliseconds'
complete -c evt-handle $opt -l timeout -x -d 'stop a handler after SECONDS'
complete -c evt-handle $opt -l continue-on-error -d 'park failed events and go on'
complete -c evt-handle $opt -l retry-parked -d 'first run the parked events again, unparking each handled one'
complete -c evt-handle $opt -l wait -d 'wait while another process holds NAME'
complete -c evt-handle $opt -l group -x -d 'be member I of N sharing NAME'

complete -c evt-command $opt -l retries -x -d 'retry after a version conflict up to N times'
complete -c evt-command $opt -l key -x -d 'idempotency key: a KEY used before runs nothing'
