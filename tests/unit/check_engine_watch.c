/*
 * check_engine_watch.c - when the built-in engine's watcher starts one
 * more worker (milter/server/admit.c: am_engine_watch_decide) and the
 * machine's idle CPU share it reads from /proc/stat for the backlog rule
 * (am_engine_cpu_idle).  Issue 17: at c=128 on a busy CPU the backlog
 * rule grew the pool to a thread per connection, and looks that came
 * after a stall of the VM did too; stuck workers must still get another.
 * Fixed values only: the decision is pure.
 */
#include <check.h>
#include <stdlib.h>

#include "server/engine_int.h"

/* a look with a connection waiting and no worker free, a tick after the
   last one, 10 ms into the wait; nothing finished since the wait began */
static struct am_watch_look
look(void)
{
	struct am_watch_look	 l = {
		.now = 1010, .last = 1010 - ENGINE_TICK_MS, .since = 1000,
		.finished = 7, .was = 7, .was0 = 7,
		.first = 0, .looks = 5, .spawn_wait_ok = 1
	};

	return l;
}

/* first_look - waits a tick for a finishing worker only while that pays */
START_TEST(first_look)
{
	struct am_watch_look	 l = look();

	l.first = 1;
	l.now = l.last = l.since;
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_WAIT);
	l.spawn_wait_ok = 0;		/* a burst: none finished lately */
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_SPAWN);
}
END_TEST

/* progress - one finished within the tick: wait; none: one more */
START_TEST(progress)
{
	struct am_watch_look	 l = look();

	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_SPAWN);
	l.finished = 8;
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_WAIT);
}
END_TEST

/* backlog - workers finish all along, the queue never empties: after
   ENGINE_BACKLOG_MS the backlog rule (the CPU decides), not before */
START_TEST(backlog)
{
	struct am_watch_look	 l = look();

	l.finished = 30;
	l.was = 29;
	l.now = l.since + ENGINE_BACKLOG_MS - 1;
	l.last = l.now - ENGINE_TICK_MS;
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_WAIT);
	l.now = l.since + ENGINE_BACKLOG_MS;
	l.last = l.now - ENGINE_TICK_MS;
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_BACKLOG);
}
END_TEST

/* late_look - a look after a stall says nothing: wait, even with none
   finished; at ENGINE_TICK_LATE ticks exactly it is not late yet */
START_TEST(late_look)
{
	struct am_watch_look	 l = look();

	l.last = l.now - ENGINE_TICK_LATE * ENGINE_TICK_MS;
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_SPAWN);
	l.last--;
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_WAIT);
	/* after the backlog time with workers finishing: still only a look */
	l.now = l.since + ENGINE_BACKLOG_MS + 50;
	l.last = l.now - 40;
	l.finished = l.was = 20;
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_WAIT);
}
END_TEST

/* stuck - late looks on a busy machine, none finished since the wait
   began ENGINE_BACKLOG_MS and ENGINE_STUCK_LOOKS looks ago: one more all
   the same; but one stall of the VM (few looks) is no reason */
START_TEST(stuck)
{
	struct am_watch_look	 l = look();

	l.now = l.since + ENGINE_BACKLOG_MS;
	l.last = l.now - 40;
	l.looks = ENGINE_STUCK_LOOKS;
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_SPAWN);
	l.now--;
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_WAIT);
	l.now++;
	l.looks = 2;			/* the look before a 500 ms stall, this */
	l.last = l.now - 500;
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_WAIT);
	/* the next look, on time, still none finished: one more */
	l.last = l.now;
	l.now += ENGINE_TICK_MS;
	l.looks = 3;
	ck_assert_int_eq(am_engine_watch_decide(&l), AM_WATCH_SPAWN);
}
END_TEST

/* cpu_idle - proc(5)'s first line: user nice system idle iowait irq
   softirq steal; idle counts idle and iowait */
START_TEST(cpu_idle)
{
	unsigned long long	 idle = 0, total = 0;

	ck_assert_int_eq(am_engine_cpu_idle("cpu  100 0 100 700 100 0 0 0 0 0"
	    "\ncpu0 50 0 50 350 50 0 0 0 0 0\n", &idle, &total), -1);
	ck_assert_uint_eq(idle, 800);
	ck_assert_uint_eq(total, 1000);
	/* +100 ticks, 5 of them idle or iowait: 5 % */
	ck_assert_int_eq(am_engine_cpu_idle("cpu  150 0 145 703 102 0 0 0 0 0\n",
	    &idle, &total), 5);
	/* +200, all busy (steal counts as busy) */
	ck_assert_int_eq(am_engine_cpu_idle("cpu  250 0 195 703 102 0 0 50 0 0\n",
	    &idle, &total), 0);
	/* +10, all idle */
	ck_assert_int_eq(am_engine_cpu_idle("cpu  250 0 195 713 102 0 0 50 0 0\n",
	    &idle, &total), 100);
	/* no time passed, times going back, text not understood: unknown */
	ck_assert_int_eq(am_engine_cpu_idle("cpu  250 0 195 713 102 0 0 50 0 0\n",
	    &idle, &total), -1);
	ck_assert_int_eq(am_engine_cpu_idle("cpu  1 0 1 1 1 0 0 0 0 0\n",
	    &idle, &total), -1);
	ck_assert_int_eq(am_engine_cpu_idle("intr 12 3 4\n", &idle, &total),
	    -1);
	ck_assert_int_eq(am_engine_cpu_idle("", &idle, &total), -1);
	/* an old kernel's four fields: too few to know iowait, unknown */
	ck_assert_int_eq(am_engine_cpu_idle("cpu 1 2 3 4\n", &idle, &total),
	    -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("engine_watch");
	TCase	*tc = tcase_create("watch");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, first_look);
	tcase_add_test(tc, progress);
	tcase_add_test(tc, backlog);
	tcase_add_test(tc, late_look);
	tcase_add_test(tc, stuck);
	tcase_add_test(tc, cpu_idle);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
