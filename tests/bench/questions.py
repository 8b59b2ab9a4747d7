"""The fixed questions of the benchmark: everyday wording, as people type it.

Short search phrases, plain questions, a few long first-person stories, and some questions the
plan does not cover (the assistant must still answer them, with "not in the plan").
"""

QUESTIONS: tuple[str, ...] = (
    # short search phrases
    "看不见能干啥",
    "养猪有补贴吗",
    "盲人按摩",
    "公益性岗位",
    "残疾人创业补贴",
    "就业辅导员",
    # plain questions
    "我是盲人，想考医疗按摩的证，去哪报名？",
    "残疾人开小卖部卖烟，办烟草证有什么照顾？",
    "残疾大学生毕业了找工作有什么政策？",
    "农村的残疾人怎么就业？",
    "单位招残疾人有什么奖励？",
    "聋人能参加什么职业培训？",
    "这个方案是什么时候发的？",
    "三年要新增多少残疾人就业？",
    "谁负责残疾人就业这件事？",
    # long first-person stories
    ("我儿子今年二十二岁，智力残疾，在家待了好几年了，我想让他出去干点活，社区有没有能去的地方？"),
    (
        "我腿脚不方便，以前在工厂上班，厂子倒闭后一直没找到工作，想自己在网上开个店，"
        "政府能帮点什么？"
    ),
    "我是听力残疾，去年大专毕业，投了很多简历都没回音，有没有专门招残疾人的岗位？",
    "我们家在村里，我老公肢体残疾，想在家里搞点种植养殖，有没有扶持？",
    # not about the plan
    "公积金怎么取",
    "医保卡丢了怎么补办",
    "明天天气怎么样",
    "你好",
    "我要找人工",
)
