/* evt.h - libevt, the library every evt program links */
#ifndef EVT_H
#define EVT_H

#include "util.h"
#include "msg.h"
#include "json.h"
#include "ndjson.h"
#include "out.h"
#include "record.h"
#include "store.h"
#include "append.h"
#include "cli.h"
#include "agg.h"
#include "reduce.h"
#include "fold.h"
#include "command.h"
#include "follow.h"
#include "proc.h"
#include "handle.h"
#include "group.h"

#endif
