/* report_main.c - authmilter-report (placeholder until the run is written) */
int
main(void)
{
	return 0;
}
