# bash completion for evt and the evt-* programs

_evt_verbs='append read fold tail handle command'

# every program accepts --bookmarks-table (evt-read, evt-fold and evt-tail
# ignore it)
_evt_common='-d --db --events-table --bookmarks-table -h --help --version'

# The options of evt-$1, and those of them that take a value.
_evt_options()
{
	case $1 in
	append)
		_evt_opts='-q --quiet -e --expect --records --count --key'
		_evt_args='-e --expect --count --key' ;;
	read)
		_evt_opts='-n --limit --after --type --stream --last --head --streams
			--aggregates'
		_evt_args='-n --limit --after --type --stream --aggregates' ;;
	fold)
		_evt_opts='--jq --jq-file --exec --init --persist --timeout --all
			--scan'
		_evt_args='--jq --jq-file --exec --init --persist --timeout' ;;
	tail)
		_evt_opts='--after -n --lines --type --count --stream'
		_evt_args='--after -n --lines --type --count --stream' ;;
	handle)
		_evt_opts='--on --stream --status --reset --parked --drop --tail
			--always-tail --follow --batch --retries --retry-delay
			--timeout --continue-on-error --retry-parked --wait
			--group'
		_evt_args='--on --stream --batch --retries --retry-delay
			--timeout --group' ;;
	command)
		_evt_opts='--jq --jq-file --exec --init --persist --timeout
			--retries --key'
		_evt_args='--jq --jq-file --exec --init --persist --timeout --retries
			--key' ;;
	*)
		return 1 ;;
	esac
	_evt_opts="$_evt_opts $_evt_common"
	_evt_args="$_evt_args -d --db --events-table --bookmarks-table"
}

_evt_files()
{
	if declare -F _filedir >/dev/null; then
		_filedir
	else
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
}

# Complete words[first..cword] as the arguments of evt-$verb.
_evt_program()
{
	local verb=$1 first=$2 cur=${COMP_WORDS[COMP_CWORD]} prev='' opt='' pre=''
	local _evt_opts _evt_args i w

	_evt_options "$verb" || return 0
	(( COMP_CWORD > first )) && prev=${COMP_WORDS[COMP_CWORD-1]}

	# --opt=value, whether or not '=' breaks words
	if [[ $cur == --*=* ]]; then
		opt=${cur%%=*} pre=$opt= cur=${cur#*=}
	elif [[ $cur == = && $prev == --* ]]; then
		opt=$prev cur=
	elif [[ $prev == = ]] && (( COMP_CWORD - 2 >= first )); then
		opt=${COMP_WORDS[COMP_CWORD-2]}
	fi

	# after --: a program and its arguments (evt-handle, evt-command).  A
	# '--' before any operand ends the options: then NAME STREAM (STREAM
	# ID COMMAND) and a second '--' come before the program.
	local lead='' n
	for (( i = first; i < COMP_CWORD; i++ )); do
		w=${COMP_WORDS[i]}
		if [[ $w != -- ]]; then
			if [[ $w != -?* ]]; then
				lead=1
			elif [[ " $_evt_args " == *" $w "* ]]; then
				[[ ${COMP_WORDS[i+1]} == = ]] && (( i++ ))
				(( i++ ))
			fi
			continue
		fi
		if [[ $verb != handle && $verb != command ]]; then
			return 0
		fi
		if [[ -z $lead ]]; then
			n=2
			[[ $verb == command ]] && n=3
			for (( i += 1 + n; i < COMP_CWORD; i++ )); do
				[[ ${COMP_WORDS[i]} == -- ]] && break
			done
			(( i < COMP_CWORD )) || return 0
		fi
		if (( i + 1 == COMP_CWORD )); then
			mapfile -t COMPREPLY < <(compgen -c -- "$cur")
		elif declare -F _command_offset >/dev/null; then
			_command_offset $((i + 1))
		else
			_evt_files
		fi
		return 0
	done

	# the value of an option
	if [[ -z $opt && $prev == -* ]] && [[ " $_evt_args " == *" $prev "* ]]; then
		opt=$prev
	fi
	if [[ -n $opt ]]; then
		case $opt in
		-d|--db|--jq-file)
			_evt_files ;;
		-e|--expect)
			mapfile -t COMPREPLY < <(compgen -W 'any exists' -- "$cur") ;;
		--exec)
			mapfile -t COMPREPLY < <(compgen -c -- "$cur") ;;
		*)
			COMPREPLY=() ;;
		esac
		[[ -n $pre ]] && COMPREPLY=("${COMPREPLY[@]/#/$pre}")
		return 0
	fi

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$_evt_opts" -- "$cur")
	fi
	return 0
}

_evt()
{
	local cmd=${COMP_WORDS[0]##*/} i w

	if [[ $cmd == evt-* ]]; then
		_evt_program "${cmd#evt-}" 1
		return
	fi
	# evt [-d URL] VERB ...: the first word that is not an option or the
	# value of -d is the verb; evt help VERB
	for (( i = 1; i < COMP_CWORD; i++ )); do
		w=${COMP_WORDS[i]}
		if [[ $w == -d || $w == --db ]]; then
			(( i++ ))
		elif [[ $w == help ]]; then
			(( i + 1 == COMP_CWORD )) &&
				mapfile -t COMPREPLY < <(compgen -W "$_evt_verbs" -- "${COMP_WORDS[COMP_CWORD]}")
			return
		elif [[ $w != -* ]]; then
			_evt_program "$w" $((i + 1))
			return
		fi
	done
	w=${COMP_WORDS[COMP_CWORD]}
	if [[ ${COMP_WORDS[COMP_CWORD-1]} == -d || ${COMP_WORDS[COMP_CWORD-1]} == --db ]]; then
		local cur=$w
		_evt_files
	elif [[ $w == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W '-d --db -h --help --version' -- "$w")
	else
		mapfile -t COMPREPLY < <(compgen -W "$_evt_verbs help" -- "$w")
	fi
}

complete -F _evt evt evt-append evt-read evt-fold evt-tail evt-handle evt-command
